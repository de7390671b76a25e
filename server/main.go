// Command smile-server is the Berkeley-sockets tutorial's greeting server:
// socket, bind, listen, accept, write "Smile from the server", close. It
// adds what a tool people test networks with needs: every address family
// and bind mode, SO_REUSEADDR on or off, a real listen(2) backlog, bounded
// concurrency, reverse DNS that never delays a greeting, and a drain on
// SIGTERM that loses no queued connection.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/smile-sockets/smile/internal/envflag"
	"github.com/smile-sockets/smile/internal/flushwriter"
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

// run is the whole program behind main, so that tests can run it with
// their own arguments, environment, output and cancellation.
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
		fmt.Fprintf(stderr, "smile-server: %v\n", err)
		return exitUsage
	}
	if cfg.version {
		fmt.Fprintln(stdout, version.String("smile-server"))
		return exitOK
	}
	if cfg.healthcheck {
		return healthcheck(ctx, cfg, stdout, stderr)
	}
	if err := serve(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "smile-server: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// serve opens every listener, serves until ctx is done and drains.
func serve(ctx context.Context, cfg *config, stdout io.Writer) error {
	lw := flushwriter.New(stdout, 64<<10, flushEvery)
	defer lw.Close()
	log := newLogger(lw, cfg.logFormat)

	opts := sockOpts{reuseAddr: cfg.reuseAddr, v6only: cfg.v6only, backlog: cfg.backlog}
	var listeners []*boundListener
	for _, spec := range cfg.listen {
		ls, err := listenAll(ctx, spec, opts)
		if err != nil {
			closeAll(listeners)
			return err
		}
		listeners = append(listeners, ls...)
	}

	var names *namer
	if cfg.resolve {
		names = newNamer(resolver.New(cfg.resolver), cfg.resolveTimeout)
	}
	srv := NewServer([]byte(cfg.greeting), cfg.writeTimeout, cfg.maxConns, names, log)

	// A listener that fails for good stops the whole server: a half-up
	// server would make a matrix cell lie.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(listeners))
	for _, l := range listeners {
		log.Info(fmt.Sprintf("SERVER started on port %d (listening on %s, %s)", l.addr.Port(), l.addr, l.mode),
			"listen", l.addr.String(), "mode", l.mode, "backlog", cfg.backlog, "reuseaddr", cfg.reuseAddr)
		go func() { errs <- srv.Serve(sctx, l.Listener) }()
	}
	_ = lw.Flush()

	var firstErr error
	for range listeners {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = fmt.Errorf("accept failed: %w", err)
			cancel()
		}
	}
	if firstErr == nil {
		log.Info("SERVER shutting down: listeners closed, finishing greetings in flight")
	}
	done := make(chan struct{})
	go func() {
		srv.Wait()
		if names != nil {
			names.wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(cfg.writeTimeout + lingerTimeout + cfg.resolveTimeout + time.Second):
		log.Warn("SERVER gave up waiting for connections in flight")
	}
	if firstErr != nil {
		return firstErr
	}
	log.Info("SERVER shutdown complete")
	return nil
}

// config is everything the flags and SMILE_* variables say.
type config struct {
	listen         []netaddr.HostPort
	v6only         bool
	reuseAddr      bool
	backlog        int
	greeting       string
	resolve        bool
	resolveTimeout time.Duration
	resolver       string
	maxConns       int
	writeTimeout   time.Duration
	logFormat      string
	healthcheck    bool
	version        bool
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

func newFlagSet(cfg *config, listen *listFlag) *flag.FlagSet {
	fs := flag.NewFlagSet("smile-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.Var(listen, "listen", "listen on `ADDR` (HOST:PORT, [IPv6]:PORT or :PORT; repeatable or comma-separated) (default :7890)")
	fs.BoolVar(&cfg.v6only, "v6only", false, "IPv6 wildcard listeners refuse IPv4 peers (IPV6_V6ONLY)")
	fs.BoolVar(&cfg.reuseAddr, "reuseaddr", true, "set SO_REUSEADDR on listening sockets (false really clears it)")
	fs.IntVar(&cfg.backlog, "backlog", defaultBacklog(), "listen(2) queue size `N`")
	fs.StringVar(&cfg.greeting, "greeting", "Smile from the server", "the bytes written to every peer")
	fs.BoolVar(&cfg.resolve, "resolve", true, "log each peer's reverse-DNS name")
	fs.DurationVar(&cfg.resolveTimeout, "resolve-timeout", 2*time.Second, "bound on one reverse lookup")
	fs.StringVar(&cfg.resolver, "resolver", "", "DNS server `IP:PORT` for reverse lookups (default: the system's)")
	fs.IntVar(&cfg.maxConns, "max-conns", 1024, "connections served at once; more wait in the kernel's queue")
	fs.DurationVar(&cfg.writeTimeout, "write-timeout", 5*time.Second, "bound on writing one greeting")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "log format: text or json")
	fs.BoolVar(&cfg.healthcheck, "healthcheck", false, "check that the running server greets over loopback, exit 0 or 1")
	fs.BoolVar(&cfg.version, "version", false, "print the version and exit")
	return fs
}

func usage(w io.Writer) {
	var cfg config
	var l listFlag
	fs := newFlagSet(&cfg, &l)
	fs.SetOutput(w)
	fmt.Fprintf(w, "Usage: smile-server [flags] [port]\n\nGreets every TCP peer with %q and closes.\nEvery flag can also be set as SMILE_<FLAG> (e.g. SMILE_MAX_CONNS=64).\n\nFlags:\n", "Smile from the server")
	fs.PrintDefaults()
}

// parseConfig reads flags, then SMILE_* variables for flags not given,
// then the tutorial's positional port, and checks every value.
func parseConfig(args []string, env func(string) (string, bool)) (*config, error) {
	cfg := &config{}
	var listen listFlag
	fs := newFlagSet(cfg, &listen)
	// -healthcheck and -version are actions, never switched on from the
	// environment.
	rest, given, err := envflag.Parse(fs, args, env, "healthcheck", "version")
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
		cfg.listen = append(cfg.listen, hp)
	}
	if cfg.backlog < 1 {
		return nil, fmt.Errorf("bad -backlog %d: must be at least 1", cfg.backlog)
	}
	if cfg.greeting == "" {
		return nil, errors.New("bad -greeting: must not be empty")
	}
	if cfg.resolveTimeout <= 0 {
		return nil, fmt.Errorf("bad -resolve-timeout %v: must be positive", cfg.resolveTimeout)
	}
	if cfg.writeTimeout <= 0 {
		return nil, fmt.Errorf("bad -write-timeout %v: must be positive", cfg.writeTimeout)
	}
	if cfg.maxConns < 1 {
		return nil, fmt.Errorf("bad -max-conns %d: must be at least 1", cfg.maxConns)
	}
	if cfg.logFormat != "text" && cfg.logFormat != "json" {
		return nil, fmt.Errorf("bad -log-format %q: want text or json", cfg.logFormat)
	}
	if cfg.resolver != "" {
		if cfg.resolver, err = resolver.ParseServer(cfg.resolver); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}
