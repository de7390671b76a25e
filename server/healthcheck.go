package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/smile-sockets/smile/internal/cli"
	"github.com/smile-sockets/smile/internal/netaddr"
)

// HealthTimeout bounds the whole check, so that it ends within the image's
// HEALTHCHECK --timeout=3s and within a Kubernetes probe's timeoutSeconds,
// which deploy/kubernetes's tests require to be longer.
const HealthTimeout = 3 * time.Second

// healthcheck connects to the running server's first listener over
// loopback and checks the greeting. A HEALTHCHECK process does not inherit
// the flags the server was started with, so it finds the server's process
// (findServer) and reads its command line and SMILE_* environment from
// /proc; flags given to the health check itself win. Without a server
// process in sight, its own flags and environment describe the server.
func healthcheck(ctx context.Context, args []string, env func(string) (string, bool), own *Config, stdout, stderr io.Writer) int {
	cfg := own
	if srv, ok := findServer(); ok {
		c, err := healthConfig(srv, args, env)
		if err != nil {
			fmt.Fprintf(stderr, "smile-server: unhealthy: can't read the flags of the server (PID %d): %v\n", srv.pid, err)
			return cli.ExitFailure
		}
		cfg = c
	}
	target := loopbackTarget(cfg.Listen[0], cfg.V6Only)
	ctx, cancel := context.WithTimeout(ctx, HealthTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		fmt.Fprintf(stderr, "smile-server: unhealthy: can't connect to %s: %v\n", target, err)
		return cli.ExitFailure
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	want := []byte(cfg.Greeting)
	got, err := io.ReadAll(io.LimitReader(conn, int64(len(want))+1))
	if err != nil {
		fmt.Fprintf(stderr, "smile-server: unhealthy: reading from %s: %v\n", target, err)
		return cli.ExitFailure
	}
	if !bytes.Equal(got, want) {
		fmt.Fprintf(stderr, "smile-server: unhealthy: %s greeted %q, want %q\n", target, got, want)
		return cli.ExitFailure
	}
	if cfg.UDP { // the datagram side too, on the same address and port
		if err := udpHealthy(ctx, target, want); err != nil {
			fmt.Fprintf(stderr, "smile-server: unhealthy: %v\n", err)
			return cli.ExitFailure
		}
	}
	fmt.Fprintf(stdout, "healthy: %s greeted %q\n", target, got)
	return cli.ExitOK
}

// loopbackTarget is where to reach a listener from inside its own host.
func loopbackTarget(l netaddr.HostPort, v6only bool) string {
	switch l.Kind {
	case netaddr.Wildcard:
		if v6only {
			return netaddr.JoinHostPort("::1", l.Port)
		}
		return netaddr.JoinHostPort("127.0.0.1", l.Port)
	case netaddr.AnyIPv4:
		return netaddr.JoinHostPort("127.0.0.1", l.Port)
	default:
		return l.String()
	}
}
