package server

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/smile-sockets/smile/internal/dnsname"
	"github.com/smile-sockets/smile/internal/envflag"
	"github.com/smile-sockets/smile/internal/netaddr"
	"github.com/smile-sockets/smile/internal/resolver"
	"github.com/smile-sockets/smile/mesh"
)

// Config is everything the flags and SMILE_* variables say.
type Config struct {
	Listen         []netaddr.HostPort // -listen, or the positional port; :7890 when neither
	V6Only         bool               // -v6only: IPv6 wildcard listeners refuse IPv4 peers
	UDP            bool               // -udp: answer datagrams on every -listen address too (udp.go)
	ReuseAddr      bool               // -reuseaddr: SO_REUSEADDR set (true) or really cleared
	Backlog        int                // -backlog: the listen(2) queue asked for
	Greeting       string             // -greeting: the bytes written to every peer
	Resolve        bool               // -resolve: name peers by reverse DNS in the log
	ResolveTimeout time.Duration      // -resolve-timeout: bound on one reverse lookup
	Resolver       string             // -resolver: DNS server IP:PORT, "" for the system's
	MaxConns       int                // -max-conns: connections in service at once
	WriteTimeout   time.Duration      // -write-timeout: bound on writing one greeting
	DrainIdle      time.Duration      // -drain-idle: how long a stopping server waits for late handshakes
	LogFormat      string             // -log-format: text or json
	Healthcheck    bool               // -healthcheck: greet the running server instead of serving
	HTTP           string             // -http: where /metrics, /healthz and the mesh's endpoints are served; "" for nowhere
	HTTPAddr       netaddr.HostPort   // -http parsed
	Mesh           string             // -mesh: the peers' name or HOST:PORT list; "" for no mesh
	MeshEntries    []netaddr.HostPort // -mesh parsed
	MeshInterval   time.Duration      // -mesh-interval: between probe rounds
	MeshPeers      int                // -mesh-peers: peer addresses probed per round
	MeshTimeout    time.Duration      // -mesh-timeout: bound on one probe
	MeshGrace      time.Duration      // -mesh-grace: how long a peer gone from DNS is kept
	MeshNode       string             // -mesh-node: this node's name; "" for the host name
	MeshMetrics    string             // -mesh-metrics: which per-destination series /metrics has
	MeshUDP        bool               // -mesh-udp: probe datagrams beside each mesh greeting (loss, RTT, hops, path MTU)
	Version        bool               // -version: print the version instead of serving
}

// listFlag collects a repeatable flag; commas separate values too, so
// that SMILE_LISTEN can hold several.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func newFlagSet(cfg *Config, listen *listFlag) *flag.FlagSet {
	fs := flag.NewFlagSet("smile-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.Var(listen, "listen", "listen on `ADDR` (HOST:PORT, [IPv6]:PORT or :PORT; repeatable or comma-separated) (default :7890)")
	fs.BoolVar(&cfg.V6Only, "v6only", false, "IPv6 wildcard listeners refuse IPv4 peers (IPV6_V6ONLY)")
	fs.BoolVar(&cfg.UDP, "udp", true, "answer datagrams on every -listen address and port too, from the address each was sent to (docs/datagrams.md)")
	fs.BoolVar(&cfg.ReuseAddr, "reuseaddr", true, "set SO_REUSEADDR on listening sockets (false really clears it)")
	fs.IntVar(&cfg.Backlog, "backlog", defaultBacklog(), "listen(2) queue size `N`")
	fs.StringVar(&cfg.Greeting, "greeting", DefaultGreeting, "the bytes written to every peer")
	fs.BoolVar(&cfg.Resolve, "resolve", true, "log each peer's reverse-DNS name")
	fs.DurationVar(&cfg.ResolveTimeout, "resolve-timeout", DefaultResolveTimeout, "bound on one reverse lookup")
	fs.StringVar(&cfg.Resolver, "resolver", "", "DNS server `IP:PORT` for reverse lookups and the -mesh name (default: the system's)")
	fs.IntVar(&cfg.MaxConns, "max-conns", DefaultMaxConns, "connections served at once; more wait in the kernel's queue")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", DefaultWriteTimeout, "bound on writing one greeting")
	fs.DurationVar(&cfg.DrainIdle, "drain-idle", DefaultDrainIdle, "on SIGTERM, keep accepting until no connection arrived for this long (covers a slow handshake)")
	fs.StringVar(&cfg.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&cfg.HTTP, "http", "", "serve /metrics, /healthz and (with -mesh) /mesh.json, /matrix.json and the matrix page at `ADDR` (HOST:PORT or :PORT; default: off)")
	fs.StringVar(&cfg.Mesh, "mesh", "", "greet every peer `SPEC` lists, every -mesh-interval: a name whose A and AAAA records are the peers (port: the first -listen port, or NAME:PORT), or HOST:PORT,HOST:PORT,…")
	fs.DurationVar(&cfg.MeshInterval, "mesh-interval", mesh.DefaultInterval, "between mesh rounds (each jittered by up to a tenth); at least 100ms")
	fs.IntVar(&cfg.MeshPeers, "mesh-peers", mesh.DefaultMaxPeers, "peer addresses probed per round `K`; more peers are covered in turns of K")
	fs.DurationVar(&cfg.MeshTimeout, "mesh-timeout", mesh.DefaultTimeout, "bound on one mesh probe, and on fetching one peer's /mesh.json; at least 10ms and at most half of -mesh-interval; when not given, half of a -mesh-interval under 4s")
	fs.DurationVar(&cfg.MeshGrace, "mesh-grace", mesh.DefaultGrace, "drop a peer that the -mesh name no longer lists after this long")
	fs.StringVar(&cfg.MeshNode, "mesh-node", "", "this node's `NAME` in the mesh (default: the host name)")
	fs.BoolVar(&cfg.MeshUDP, "mesh-udp", true, "send each mesh peer a few probe datagrams a round beside its greeting, for loss, round trip and hops, and search the path MTU every 10th round (false: TCP greetings alone)")
	fs.StringVar(&cfg.MeshMetrics, "mesh-metrics", mesh.DefaultMetrics, "per-destination series on /metrics: `WHICH` of summary (per-node counts only), failing (also each failing destination's) or all (every destination's)")
	fs.BoolVar(&cfg.Healthcheck, "healthcheck", false, "check that the running server greets over loopback, exit 0 or 1")
	fs.BoolVar(&cfg.Version, "version", false, "print the version and exit")
	return fs
}

// actions are the flags that are never switched on from the environment:
// -healthcheck and -version do something instead of serving.
var actions = []string{"healthcheck", "version"}

// Variables lists the SMILE_* variables smile-server reads, one per flag
// that is not an action, for tools that check a container's environment
// (a misspelt variable is otherwise ignored).
func Variables() []string {
	var cfg Config
	var l listFlag
	return envflag.Names(newFlagSet(&cfg, &l), actions...)
}

func usage(w io.Writer) {
	var cfg Config
	var l listFlag
	fs := newFlagSet(&cfg, &l)
	fs.SetOutput(w)
	fmt.Fprintf(w, "Usage: smile-server [flags] [port]\n\nGreets every TCP peer with %q and closes.\nEvery flag can also be set as SMILE_<FLAG> (e.g. SMILE_MAX_CONNS=64).\n\nFlags:\n", "Smile from the server")
	fs.PrintDefaults()
}

// ParseConfig reads flags, then SMILE_* variables for flags not given,
// then the tutorial's positional port, and checks every value.
func ParseConfig(args []string, env func(string) (string, bool)) (*Config, error) {
	cfg := &Config{}
	var listen listFlag
	fs := newFlagSet(cfg, &listen)
	rest, given, err := envflag.Parse(fs, args, env, actions...)
	if err != nil {
		return nil, err
	}
	switch {
	case len(rest) > 1:
		return nil, fmt.Errorf("unexpected argument %q", rest[1])
	case len(rest) == 1:
		if given["listen"] {
			return nil, errors.New("give either -listen or a port, not both")
		}
		port, err := netaddr.ParsePort(rest[0])
		if err != nil {
			return nil, err
		}
		listen = listFlag{fmt.Sprintf(":%d", port)}
	}
	if len(listen) == 0 {
		listen = listFlag{fmt.Sprintf(":%d", netaddr.DefaultPort)}
	}
	for _, s := range listen {
		hp, err := netaddr.ParseListen(s)
		if err != nil {
			return nil, err
		}
		cfg.Listen = append(cfg.Listen, hp)
	}
	if cfg.Backlog < 1 {
		return nil, fmt.Errorf("bad -backlog %d: must be at least 1", cfg.Backlog)
	}
	if cfg.Greeting == "" {
		return nil, errors.New("bad -greeting: must not be empty")
	}
	if cfg.ResolveTimeout <= 0 {
		return nil, fmt.Errorf("bad -resolve-timeout %v: must be positive", cfg.ResolveTimeout)
	}
	if cfg.WriteTimeout <= 0 {
		return nil, fmt.Errorf("bad -write-timeout %v: must be positive", cfg.WriteTimeout)
	}
	if cfg.DrainIdle <= 0 {
		return nil, fmt.Errorf("bad -drain-idle %v: must be positive", cfg.DrainIdle)
	}
	if cfg.MaxConns < 1 {
		return nil, fmt.Errorf("bad -max-conns %d: must be at least 1", cfg.MaxConns)
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return nil, fmt.Errorf("bad -log-format %q: want text or json", cfg.LogFormat)
	}
	if cfg.Resolver != "" {
		if cfg.Resolver, err = resolver.ParseServer(cfg.Resolver); err != nil {
			return nil, err
		}
	}
	if _, fromEnv := env(envflag.Name("mesh-timeout")); !given["mesh-timeout"] && !fromEnv && cfg.MeshInterval >= mesh.MinInterval {
		// Unset, the bound follows a short interval down (an interval
		// below the minimum is refused as such, not blamed on this).
		cfg.MeshTimeout = min(cfg.MeshTimeout, cfg.MeshInterval/2)
	}
	if err := parseMesh(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseMesh checks -http and the -mesh flags.
func parseMesh(cfg *Config) error {
	if cfg.HTTP != "" {
		hp, err := netaddr.ParseListen(cfg.HTTP)
		if err != nil {
			return fmt.Errorf("bad -http: %w", err)
		}
		if hp.Kind == netaddr.Name && hp.Text != "localhost" {
			return fmt.Errorf("bad -http %q: want an IP address, localhost or :PORT", cfg.HTTP)
		}
		cfg.HTTPAddr = hp
	}
	switch {
	case cfg.MeshInterval < mesh.MinInterval:
		return fmt.Errorf("bad -mesh-interval %v: at least %v", cfg.MeshInterval, mesh.MinInterval)
	case cfg.MeshTimeout < mesh.MinTimeout:
		return fmt.Errorf("bad -mesh-timeout %v: at least %v", cfg.MeshTimeout, mesh.MinTimeout)
	case cfg.MeshTimeout > cfg.MeshInterval/2:
		return fmt.Errorf("bad -mesh-timeout %v: at most half of -mesh-interval %v, so that a round's probes end well inside it", cfg.MeshTimeout, cfg.MeshInterval)
	case cfg.MeshPeers < 1:
		return fmt.Errorf("bad -mesh-peers %d: must be at least 1", cfg.MeshPeers)
	case cfg.MeshGrace <= 0:
		return fmt.Errorf("bad -mesh-grace %v: must be positive", cfg.MeshGrace)
	case !slices.Contains(mesh.MetricsChoices, cfg.MeshMetrics):
		return mesh.BadMetricsError(cfg.MeshMetrics)
	case cfg.MeshNode != "" && dnsname.Sanitize(cfg.MeshNode) != cfg.MeshNode:
		return fmt.Errorf("bad -mesh-node %q: want a host name (letters, digits, '-', '_', '.')", cfg.MeshNode)
	}
	if cfg.Mesh != "" {
		entries, err := mesh.ParseSpec(cfg.Mesh, cfg.Listen[0].Port)
		if err != nil {
			return err
		}
		cfg.MeshEntries = entries
	}
	return nil
}
