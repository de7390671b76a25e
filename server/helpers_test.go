package server

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// The shared helpers (a well-behaved greeter, a slow reader, running the
// real binary, /proc readers) are in internal/smiletest; this file holds
// only what is particular to package server's tests: the program run in
// this process.

const defaultGreeting = DefaultGreeting

// serverBinary builds the real smile-server once per test binary, for
// tests that signal it, limit its descriptors or stall its output.
func serverBinary(t *testing.T) string { return smiletest.Build(t, "../cmd/smile-server") }

// server is a smile-server running in this process through Run.
type server struct {
	out, err *smiletest.Buffer
	cancel   context.CancelFunc
	done     chan int
	code     int
	stopped  bool
}

// startServer runs the server with args (and no SMILE_* environment) and
// waits until it listens or exits. The test fails if it does not stop
// cleanly at the end.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	s := tryServer(t, args...)
	if s.stopped {
		t.Fatalf("server %v exited %d: %s", args, s.code, s.err)
	}
	t.Cleanup(func() {
		if code := s.stop(); code != 0 {
			t.Errorf("server %v exited %d at cleanup: %s", args, code, s.err)
		}
	})
	return s
}

// tryServer runs the server and returns once it listens or has exited.
func tryServer(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{out: &smiletest.Buffer{}, err: &smiletest.Buffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { s.done <- Run(ctx, args, noEnv, s.out, s.err) }()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(s.out.String(), "SERVER started") {
		select {
		case s.code = <-s.done:
			s.stopped = true
			cancel()
			return s
		case <-deadline:
			cancel()
			t.Fatalf("server %v did not start: %s", args, s.err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	return s
}

// stop cancels the server (as SIGTERM would) and returns its exit code.
func (s *server) stop() int {
	if s.stopped {
		return s.code
	}
	s.cancel()
	select {
	case s.code = <-s.done:
	case <-time.After(20 * time.Second):
		s.code = -1
	}
	s.stopped = true
	return s.code
}

func noEnv(string) (string, bool) { return "", false }

// needProc skips a test that finds the server's process through /proc,
// which only Linux has; elsewhere the health check uses its own flags and
// environment (TestHealthcheck).
func needProc(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skipf("finds the server's process through /proc, which this system does not have: %v", err)
	}
}
