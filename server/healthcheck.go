package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/smile-sockets/smile/internal/envflag"
	"github.com/smile-sockets/smile/internal/netaddr"
)

// HealthTimeout bounds the whole check, so that it ends within the image's
// HEALTHCHECK --timeout=3s and within a Kubernetes probe's timeoutSeconds,
// which deploy/kubernetes's tests require to be longer.
const HealthTimeout = 3 * time.Second

// healthcheck connects to the running server's first listener over
// loopback and checks the greeting. A HEALTHCHECK process does not inherit
// the flags the server was started with, so when PID 1 is smile-server (as
// in its container) its command line and SMILE_* environment are read
// from /proc; otherwise this process's own flags describe the server.
func healthcheck(ctx context.Context, own *Config, stdout, stderr io.Writer) int {
	cfg := own
	if pid1, err := pid1Config(); err == nil && pid1 != nil {
		cfg = pid1
	}
	target := loopbackTarget(cfg.Listen[0], cfg.V6Only)
	ctx, cancel := context.WithTimeout(ctx, HealthTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		fmt.Fprintf(stderr, "smile-server: unhealthy: can't connect to %s: %v\n", target, err)
		return exitFailure
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	want := []byte(cfg.Greeting)
	got, err := io.ReadAll(io.LimitReader(conn, int64(len(want))+1))
	if err != nil {
		fmt.Fprintf(stderr, "smile-server: unhealthy: reading from %s: %v\n", target, err)
		return exitFailure
	}
	if !bytes.Equal(got, want) {
		fmt.Fprintf(stderr, "smile-server: unhealthy: %s greeted %q, want %q\n", target, got, want)
		return exitFailure
	}
	fmt.Fprintf(stdout, "healthy: %s greeted %q\n", target, got)
	return exitOK
}

// pid1Config returns the configuration of the smile-server running as PID
// 1, or nil when PID 1 is something else (or this process itself).
func pid1Config() (*Config, error) {
	if os.Getpid() == 1 {
		return nil, nil
	}
	cmdline, err := os.ReadFile("/proc/1/cmdline")
	if err != nil {
		return nil, err
	}
	argv := splitNUL(cmdline)
	if len(argv) == 0 || filepath.Base(argv[0]) != "smile-server" {
		return nil, nil
	}
	environ, err := os.ReadFile("/proc/1/environ")
	if err != nil {
		environ = nil // unreadable: the flags alone still say a lot
	}
	cfg, err := ParseConfig(argv[1:], envflag.Environ(splitNUL(environ)))
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

func splitNUL(b []byte) []string {
	var out []string
	for _, f := range bytes.Split(b, []byte{0}) {
		if len(f) > 0 {
			out = append(out, string(f))
		}
	}
	return out
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
