package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/smile-sockets/smile/internal/cli"
	"github.com/smile-sockets/smile/internal/resolver"
)

// Run is the whole smile-server program: it parses args and the SMILE_*
// variables that env looks up, then serves, checks health or prints the
// version, and returns the exit code. cmd/smile-server is Run with the
// process's own arguments, environment, output and signals, so tests and
// other programs get exactly the real program.
func Run(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int {
	cfg, err := ParseConfig(args, env)
	if code, done := cli.Prelude("smile-server", err, err == nil && cfg.Version, usage, stdout, stderr); done {
		return code
	}
	if cfg.Healthcheck {
		return healthcheck(ctx, args, env, cfg, stdout, stderr)
	}
	if err := serve(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "smile-server: %v\n", err)
		if errors.As(err, new(*startError)) {
			return cli.ExitUsage
		}
		return cli.ExitFailure
	}
	return cli.ExitOK
}

// serve opens every listener, serves until ctx is done and drains.
func serve(ctx context.Context, cfg *Config, stdout, stderr io.Writer) error {
	log, flushLog, logLost, closeLog := newLog(stdout, stderr, cfg.LogFormat)
	defer closeLog()

	opts := sockOpts{reuseAddr: cfg.ReuseAddr, v6only: cfg.V6Only, backlog: cfg.Backlog}
	var listeners []*boundListener
	for _, spec := range cfg.Listen {
		ls, err := listenAll(ctx, spec, opts)
		if err != nil {
			closeAll(listeners)
			return err
		}
		listeners = append(listeners, ls...)
	}

	srvOpts := Options{Greeting: []byte(cfg.Greeting), WriteTimeout: cfg.WriteTimeout, MaxConns: cfg.MaxConns,
		ResolveTimeout: cfg.ResolveTimeout, DrainIdle: cfg.DrainIdle}
	if cfg.Resolve {
		srvOpts.Resolver = resolver.New(cfg.Resolver)
	}
	srv := New(srvOpts, log)

	// A listener that fails for good stops the whole server: a half-up
	// server would make a matrix cell lie.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var udps []*udpSocket
	if cfg.UDP {
		var err error
		if udps, err = listenDatagrams(listeners, opts); err != nil {
			closeAll(listeners)
			return err
		}
		srv.udp = newDatagrams(srv)
	}
	side, err := startSide(sctx, cfg, listeners, srv, logLost, log)
	if err != nil {
		closeAll(listeners)
		closeDatagrams(udps)
		return err
	}
	defer func() {
		cancel()
		side.Wait()
	}()
	errs := make(chan error, len(listeners)+len(udps))
	for _, l := range listeners {
		log.Info(fmt.Sprintf("SERVER started on port %d (listening on %s, %s)", l.addr.Port(), l.addr, l.mode),
			"listen", l.addr.String(), "mode", l.mode, "backlog", l.backlog, "reuseaddr", cfg.ReuseAddr)
		if l.backlog < cfg.Backlog {
			log.Warn(fmt.Sprintf("-backlog %d capped by the kernel at %d (net.core.somaxconn)", cfg.Backlog, l.backlog),
				"listen", l.addr.String(), "asked", cfg.Backlog, "backlog", l.backlog)
		}
		go func() { errs <- srv.Serve(sctx, l.Listener) }()
	}
	for _, u := range udps {
		log.Info(fmt.Sprintf("SERVER answering datagrams on %s (%s)", u.addr, u.mode), "listen", u.addr.String(), "mode", u.mode, "proto", "udp")
		go func() { errs <- srv.udp.serve(sctx, u.UDPConn) }()
	}
	flushLog()

	var firstErr error
	for range len(listeners) + len(udps) {
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
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(cfg.WriteTimeout + lingerTimeout + cfg.ResolveTimeout + time.Second):
		log.Warn("SERVER gave up waiting for connections in flight")
	}
	if firstErr != nil {
		return firstErr
	}
	log.Info("SERVER shutdown complete")
	return nil
}
