package client

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/smile-sockets/smile/internal/envflag"
	"github.com/smile-sockets/smile/internal/netaddr"
	"github.com/smile-sockets/smile/internal/resolver"
)

// Config is everything the flags and SMILE_* variables say.
type Config struct {
	Target      netaddr.HostPort // the positional host and port; localhost 7890 by default
	IPv4, IPv6  bool             // -4, -6: one address family only
	Timeout     time.Duration    // -timeout: connect, across every address of a name
	ReadTimeout time.Duration    // -read-timeout: bound on reading the whole greeting
	MaxBytes    int              // -max-bytes: more from the server is an error
	Expect      string           // -expect: what the greeting must equal, when HasExpect
	HasExpect   bool             // -expect was given, even as ""
	Count       int              // -count: probes in all
	Concurrency int              // -concurrency: probes in flight at once
	Interval    time.Duration    // -interval: pause between probes of one worker
	JSON        bool             // -json: one object per probe and a summary
	Verbose     bool             // -v: the dialer's decisions on stderr
	Each        bool             // -each: probe every address of the name separately
	Resolver    string           // -resolver: DNS server IP:PORT, "" for the system's
	JUnit       string           // -junit: the JUnit XML report's path, "" for none
	Version     bool             // -version: print the version instead of probing
	UDP         bool             // -udp: greet and measure over datagrams (udp.go)
	PMTU        bool             // -pmtu: find the path MTU over datagrams (implies -udp)
	Size        int              // -size: bytes of UDP payload of each datagram sent
}

// network is the Go network name for the chosen family.
func (c *Config) network() string {
	switch {
	case c.IPv4:
		return "tcp4"
	case c.IPv6:
		return "tcp6"
	}
	return "tcp"
}

func newFlagSet(cfg *Config) *flag.FlagSet {
	fs := flag.NewFlagSet("smile-client", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.BoolVar(&cfg.IPv4, "4", false, "use IPv4 only (for a name: A records only)")
	fs.BoolVar(&cfg.IPv6, "6", false, "use IPv6 only (for a name: AAAA records only)")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "connect timeout, across every address of a name")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", 5*time.Second, "bound on reading the whole greeting")
	fs.IntVar(&cfg.MaxBytes, "max-bytes", 65536, "more than `N` bytes from the server is an error")
	fs.StringVar(&cfg.Expect, "expect", "", "fail unless the greeting equals `TEXT` exactly")
	fs.IntVar(&cfg.Count, "count", 1, "probe `N` times")
	fs.IntVar(&cfg.Concurrency, "concurrency", 1, "probes in flight at once")
	fs.DurationVar(&cfg.Interval, "interval", 0, "pause between probes of one worker")
	fs.BoolVar(&cfg.JSON, "json", false, "one JSON object per probe (-each: per target) and a summary object; see docs/json.md")
	fs.BoolVar(&cfg.Verbose, "v", false, "say on stderr which address was dialled, over which family")
	fs.BoolVar(&cfg.Each, "each", false, "probe every A and AAAA address of HOST separately (and the name itself)")
	fs.StringVar(&cfg.Resolver, "resolver", "", "DNS server `IP:PORT` for resolving HOST (default: the system's)")
	fs.StringVar(&cfg.JUnit, "junit", "", "also write a JUnit XML report to `FILE`: one test case per target and family")
	fs.BoolVar(&cfg.Version, "version", false, "print the version and exit")
	fs.BoolVar(&cfg.UDP, "udp", false, "greet over a datagram instead of a connection, a name's next address after an ICMP refusal or 300ms of silence; with -count, measure loss, RTT and hops at its first (docs/datagrams.md)")
	fs.BoolVar(&cfg.PMTU, "pmtu", false, "find the path MTU with don't-fragment datagrams (implies -udp)")
	fs.IntVar(&cfg.Size, "size", defaultUDPSize, "`BYTES` of UDP payload in each datagram -udp sends (the server answers a request no shorter than its greeting)")
	return fs
}

// Variables lists the SMILE_* variables smile-client reads, one per flag
// but -version, for tools that check a container's environment (a
// misspelt variable is otherwise ignored).
func Variables() []string {
	var cfg Config
	return envflag.Names(newFlagSet(&cfg), "version")
}

func usage(w io.Writer) {
	var cfg Config
	fs := newFlagSet(&cfg)
	fs.SetOutput(w)
	fmt.Fprint(w, `Usage: smile-client [flags] [host [port]]

Connects to a smile server (default localhost 7890), prints its greeting.
host is dotted IPv4, a name, or IPv6 with or without brackets; host:port
and [IPv6]:port work as one argument. Every flag can also be set as
SMILE_<FLAG> (e.g. SMILE_TIMEOUT=2s). -json and -junit FILE write for
scripts and CI: docs/json.md describes both.

Flags:
`)
	fs.PrintDefaults()
}

// ParseConfig reads flags, SMILE_* variables for flags not given, and the
// positional target, and checks every value.
func ParseConfig(args []string, env func(string) (string, bool)) (*Config, error) {
	cfg := &Config{}
	fs := newFlagSet(cfg)
	rest, given, err := envflag.Parse(fs, args, env, "version")
	if err != nil {
		return nil, err
	}
	cfg.HasExpect = given["expect"]
	if !cfg.HasExpect {
		_, cfg.HasExpect = env(envflag.Name("expect"))
	}
	if cfg.Version {
		return cfg, nil
	}
	cfg.Target, err = netaddr.ParseTarget(rest, "localhost", netaddr.DefaultPort)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.IPv4 && cfg.IPv6:
		return nil, errors.New("give -4 or -6, not both")
	case cfg.IPv4 && cfg.Target.Kind == netaddr.IPv6:
		return nil, fmt.Errorf("-4 with the IPv6 address %s", cfg.Target.Text)
	case cfg.IPv6 && cfg.Target.Kind == netaddr.IPv4:
		return nil, fmt.Errorf("-6 with the IPv4 address %s", cfg.Target.Text)
	case cfg.Timeout <= 0:
		return nil, fmt.Errorf("bad -timeout %v: must be positive", cfg.Timeout)
	case cfg.ReadTimeout <= 0:
		return nil, fmt.Errorf("bad -read-timeout %v: must be positive", cfg.ReadTimeout)
	case cfg.MaxBytes < 1:
		return nil, fmt.Errorf("bad -max-bytes %d: must be at least 1", cfg.MaxBytes)
	case cfg.MaxBytes > 64<<20:
		return nil, fmt.Errorf("bad -max-bytes %d: at most %d", cfg.MaxBytes, 64<<20)
	case cfg.Count < 1:
		return nil, fmt.Errorf("bad -count %d: must be at least 1", cfg.Count)
	case cfg.Concurrency < 1:
		return nil, fmt.Errorf("bad -concurrency %d: must be at least 1", cfg.Concurrency)
	case cfg.Concurrency > 4096:
		return nil, fmt.Errorf("bad -concurrency %d: at most 4096", cfg.Concurrency)
	case cfg.Interval < 0:
		return nil, fmt.Errorf("bad -interval %v: must not be negative", cfg.Interval)
	case cfg.HasExpect && len(cfg.Expect) > cfg.MaxBytes:
		return nil, fmt.Errorf("bad -expect: longer than -max-bytes %d", cfg.MaxBytes)
	}
	if err := checkUDP(cfg); err != nil {
		return nil, err
	}
	if cfg.Concurrency > cfg.Count {
		cfg.Concurrency = cfg.Count
	}
	if cfg.Resolver != "" {
		if cfg.Resolver, err = resolver.ParseServer(cfg.Resolver); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}
