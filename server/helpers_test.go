package server

import (
	"os"
	"testing"

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
	*smiletest.Running
	out, err *smiletest.Buffer
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
	r := smiletest.StartRun(t, Run, "SERVER started", args...)
	s := &server{Running: r, out: r.Out, err: r.Err}
	s.code, s.stopped = r.Exited()
	return s
}

// stop cancels the server (as SIGTERM would) and returns its exit code.
func (s *server) stop() int {
	s.code, s.stopped = s.Stop(), true
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
