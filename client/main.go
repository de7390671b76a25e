// Command smile-client is the Berkeley-sockets tutorial's client: connect,
// read the greeting, print it. It adds what someone checking a network
// needs: every way to name a host (dotted IPv4, a name, IPv6 with or
// without brackets), one address family at a time, hard timeouts, a cause
// class for every failure, and a probe mode that doubles as a load
// generator.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/smile-sockets/smile/internal/envflag"
	"github.com/smile-sockets/smile/internal/netaddr"
	"github.com/smile-sockets/smile/internal/resolver"
	"github.com/smile-sockets/smile/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes, as the contract promises.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// run is the whole program behind main, so that tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runEnv(ctx, args, os.LookupEnv, stdout, stderr)
}

func runEnv(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, env)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage(stdout)
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "smile-client: %v\n", err)
		return exitUsage
	}
	if cfg.version {
		fmt.Fprintln(stdout, version.String("smile-client"))
		return exitOK
	}
	p := newProber(cfg, stderr)
	if cfg.each {
		return runEach(ctx, p, cfg, stdout, stderr)
	}
	if cfg.count == 1 && cfg.concurrency == 1 && !cfg.json {
		return runOnce(ctx, p, cfg, stdout, stderr)
	}
	return runProbes(ctx, p, cfg, stdout, stderr)
}

// runOnce is the tutorial's client: one connection, the greeting printed
// line by line.
func runOnce(ctx context.Context, p *prober, cfg *config, stdout, stderr io.Writer) int {
	res := p.probe(ctx, cfg.target.String(), cfg.network(), nil)
	if !res.ok() {
		fmt.Fprintf(stderr, "smile-client: %s\n", res.message())
		return exitFailure
	}
	printLines(stdout, res.data)
	return exitOK
}

// printLines writes what the server sent with every line ending in "\n",
// as the tutorial's client printed it.
func printLines(w io.Writer, data []byte) {
	if len(data) == 0 {
		return
	}
	if data[len(data)-1] == '\n' {
		_, _ = w.Write(data)
		return
	}
	out := make([]byte, 0, len(data)+1)
	out = append(out, data...)
	_, _ = w.Write(append(out, '\n'))
}

// config is everything the flags and SMILE_* variables say.
type config struct {
	target      netaddr.HostPort
	ipv4, ipv6  bool
	timeout     time.Duration
	readTimeout time.Duration
	maxBytes    int
	expect      string
	hasExpect   bool
	count       int
	concurrency int
	interval    time.Duration
	json        bool
	verbose     bool
	each        bool
	resolver    string
	version     bool
}

// network is the Go network name for the chosen family.
func (c *config) network() string {
	switch {
	case c.ipv4:
		return "tcp4"
	case c.ipv6:
		return "tcp6"
	}
	return "tcp"
}

func newFlagSet(cfg *config) *flag.FlagSet {
	fs := flag.NewFlagSet("smile-client", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.BoolVar(&cfg.ipv4, "4", false, "use IPv4 only (for a name: A records only)")
	fs.BoolVar(&cfg.ipv6, "6", false, "use IPv6 only (for a name: AAAA records only)")
	fs.DurationVar(&cfg.timeout, "timeout", 5*time.Second, "connect timeout, across every address of a name")
	fs.DurationVar(&cfg.readTimeout, "read-timeout", 5*time.Second, "bound on reading the whole greeting")
	fs.IntVar(&cfg.maxBytes, "max-bytes", 65536, "more than `N` bytes from the server is an error")
	fs.StringVar(&cfg.expect, "expect", "", "fail unless the greeting equals `TEXT` exactly")
	fs.IntVar(&cfg.count, "count", 1, "probe `N` times")
	fs.IntVar(&cfg.concurrency, "concurrency", 1, "probes in flight at once")
	fs.DurationVar(&cfg.interval, "interval", 0, "pause between probes of one worker")
	fs.BoolVar(&cfg.json, "json", false, "one JSON object per probe and a summary object")
	fs.BoolVar(&cfg.verbose, "v", false, "say on stderr which address was dialled, over which family")
	fs.BoolVar(&cfg.each, "each", false, "probe every A and AAAA address of HOST separately (and the name itself)")
	fs.StringVar(&cfg.resolver, "resolver", "", "DNS server `IP:PORT` for resolving HOST (default: the system's)")
	fs.BoolVar(&cfg.version, "version", false, "print the version and exit")
	return fs
}

func usage(w io.Writer) {
	var cfg config
	fs := newFlagSet(&cfg)
	fs.SetOutput(w)
	fmt.Fprint(w, `Usage: smile-client [flags] [host [port]]

Connects to a smile server (default localhost 7890), prints its greeting.
host is dotted IPv4, a name, or IPv6 with or without brackets; host:port
and [IPv6]:port work as one argument. Every flag can also be set as
SMILE_<FLAG> (e.g. SMILE_TIMEOUT=2s).

Flags:
`)
	fs.PrintDefaults()
}

// parseConfig reads flags, SMILE_* variables for flags not given, and the
// positional target, and checks every value.
func parseConfig(args []string, env func(string) (string, bool)) (*config, error) {
	cfg := &config{}
	fs := newFlagSet(cfg)
	rest, given, err := envflag.Parse(fs, args, env, "version")
	if err != nil {
		return nil, err
	}
	cfg.hasExpect = given["expect"]
	if !cfg.hasExpect {
		_, cfg.hasExpect = env(envflag.Name("expect"))
	}
	if cfg.version {
		return cfg, nil
	}
	cfg.target, err = netaddr.ParseTarget(rest, "localhost", netaddr.DefaultPort)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.ipv4 && cfg.ipv6:
		return nil, errors.New("give -4 or -6, not both")
	case cfg.ipv4 && cfg.target.Kind == netaddr.IPv6:
		return nil, fmt.Errorf("-4 with the IPv6 address %s", cfg.target.Text)
	case cfg.ipv6 && cfg.target.Kind == netaddr.IPv4:
		return nil, fmt.Errorf("-6 with the IPv4 address %s", cfg.target.Text)
	case cfg.timeout <= 0:
		return nil, fmt.Errorf("bad -timeout %v: must be positive", cfg.timeout)
	case cfg.readTimeout <= 0:
		return nil, fmt.Errorf("bad -read-timeout %v: must be positive", cfg.readTimeout)
	case cfg.maxBytes < 1:
		return nil, fmt.Errorf("bad -max-bytes %d: must be at least 1", cfg.maxBytes)
	case cfg.maxBytes > 64<<20:
		return nil, fmt.Errorf("bad -max-bytes %d: at most %d", cfg.maxBytes, 64<<20)
	case cfg.count < 1:
		return nil, fmt.Errorf("bad -count %d: must be at least 1", cfg.count)
	case cfg.concurrency < 1:
		return nil, fmt.Errorf("bad -concurrency %d: must be at least 1", cfg.concurrency)
	case cfg.concurrency > 4096:
		return nil, fmt.Errorf("bad -concurrency %d: at most 4096", cfg.concurrency)
	case cfg.interval < 0:
		return nil, fmt.Errorf("bad -interval %v: must not be negative", cfg.interval)
	case cfg.hasExpect && len(cfg.expect) > cfg.maxBytes:
		return nil, fmt.Errorf("bad -expect: longer than -max-bytes %d", cfg.maxBytes)
	}
	if cfg.concurrency > cfg.count {
		cfg.concurrency = cfg.count
	}
	if cfg.resolver != "" {
		if cfg.resolver, err = resolver.ParseServer(cfg.resolver); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}
