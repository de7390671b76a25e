package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/nettest"

	"github.com/smile-sockets/smile/internal/dnstest"
)

const defaultGreeting = "Smile from the server"

// syncBuffer is an output that tests can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines returns the log lines without their timestamp and level.
func (s *syncBuffer) lines() []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s.String()))
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 3)
		if len(f) == 3 {
			out = append(out, f[2])
		}
	}
	return out
}

// waitFor waits until the output contains substr.
func (s *syncBuffer) waitFor(t *testing.T, substr string, timeout time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(s.String(), substr) {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// server is a smile-server running in this process through run.
type server struct {
	out, err *syncBuffer
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
	s := &server{out: &syncBuffer{}, err: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
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

// freePort finds a TCP port free on both loopback addresses right now.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if ln6, err := net.Listen("tcp6", fmt.Sprintf("[::1]:%d", port)); err == nil {
			_ = ln6.Close()
			return port
		} else if !supportsIPv6() {
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// greet is a well-behaved client: connect, read to EOF, close.
func greet(network, addr string) (string, error) {
	conn, err := net.DialTimeout(network, addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(conn)
	return string(b), err
}

// stubDNS is a resolver of the test's own, so no reverse lookup of a test
// peer ever leaves the machine.
func stubDNS(t *testing.T) *dnstest.Server {
	t.Helper()
	return dnstest.Start(t)
}

// supportsIPv6 reports whether ::1 works here; IPv6 cases skip only where
// the host truly lacks it.
func supportsIPv6() bool { return nettest.SupportsIPv6() }

func requireIPv6(t *testing.T) {
	t.Helper()
	if !supportsIPv6() {
		t.Skip("host has no IPv6 loopback (::1)")
	}
}
