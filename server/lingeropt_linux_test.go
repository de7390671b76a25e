package server

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// TestListenerWithSOLinger: a library caller may hand Serve a listener
// with SO_LINGER set, which accepted sockets inherit; their close(2) then
// waits, up to the linger time, for the peer to acknowledge what is left
// to send. The fast path closes with a raw system call, which the runtime
// cannot take its processor back from: only its preemption signal ends the
// wait early (strace: close took 18 ms, ended by SIGURG), and without it
// one peer that does not read stalls every greeting for the linger time.
// So the test runs the server in a child process on one processor with
// asynchronous preemption off, where a raw close that waits stops the
// whole server. Such a listener is served the ordinary way, where a close
// waits in its connection's own goroutine.
func TestListenerWithSOLinger(t *testing.T) {
	if os.Getenv(lingerChildEnv) == "" {
		if testing.Short() {
			t.Skip("runs a child process: skipped in -short mode")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestListenerWithSOLinger$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), lingerChildEnv+"=1", "GOMAXPROCS=1", "GODEBUG=asyncpreemptoff=1")
		out, err := cmd.CombinedOutput()
		t.Logf("child:\n%s", out)
		require.NoError(t, err)
		return
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = errors.Join(unix.SetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 3}),
				// Inherited too: the greeting below fits at once.
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20))
		})
		if err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	// 64 KiB fits the send buffer at once (the fast path's one send) but
	// not a stingy peer's window: most of it stays unacknowledged.
	greeting := strings.Repeat("G", 64<<10)
	srv := New(Options{Greeting: []byte(greeting)}, NewLogger(io.Discard, "text"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		srv.Wait()
	})

	hog, err := smiletest.Peer{Stingy: true}.Dial(addr)
	require.NoError(t, err)
	defer hog.Close()
	// Greet from just before the server lets the hog go (its close, after
	// lingerTimeout) until well after.
	time.Sleep(lingerTimeout - 200*time.Millisecond)
	var slowest time.Duration
	for range 20 {
		start := time.Now()
		require.NoError(t, greetWant(smiletest.Peer{Timeout: 10 * time.Second}, addr, greeting))
		slowest = max(slowest, time.Since(start))
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("FIGURES SO_LINGER 3 s on the listener: slowest of 20 greetings around a non-reading peer's close %v", slowest.Round(time.Millisecond))
	assert.Less(t, slowest, 500*time.Millisecond, "no greeting waits for another peer's close")
}

// lingerChildEnv marks the child process of TestListenerWithSOLinger.
const lingerChildEnv = "SMILE_TEST_LINGER_CHILD"
