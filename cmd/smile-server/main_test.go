package main

import (
	"bufio"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/smile-sockets/smile/internal/testbin"
)

// TestSecondSignalForcesExit: the first SIGTERM drains, which waits for a
// greeting in flight up to -write-timeout; a second one ends the process
// at once, with exit 1 and a line saying so.
func TestSecondSignalForcesExit(t *testing.T) {
	bin := testbin.Build(t, ".")
	port := freePort(t)
	big := strings.Repeat("B", 120<<10) // more than a stalled peer's socket buffers take
	cmd := exec.Command(bin, "-resolve=false", "-write-timeout", "60s", "-greeting", big,
		"-listen", "127.0.0.1:"+strconv.Itoa(port))
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "the start line")
	require.Contains(t, lines.Text(), "SERVER started")
	go func() {
		for lines.Scan() { // keep stdout moving
		}
	}()

	// A peer that never reads, with a tiny window: the greeting's write
	// blocks and holds the drain.
	d := net.Dialer{Control: func(_, _ string, raw syscall.RawConn) error {
		var e1, e2 error
		err := raw.Control(func(fd uintptr) {
			e1 = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
			e2 = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_MAXSEG, 536)
		})
		return errors.Join(err, e1, e2)
	}}
	hog, err := d.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	require.NoError(t, err)
	defer hog.Close()
	time.Sleep(200 * time.Millisecond) // the server is writing

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		t.Fatalf("exited on the first SIGTERM with a greeting in flight: %v", err)
	case <-time.After(500 * time.Millisecond): // draining
	}
	start := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, 1, ee.ExitCode())
		assert.Less(t, time.Since(start), time.Second)
		assert.Equal(t, "smile-server: terminated again: exiting without finishing\n", stderr.String())
	case <-time.After(5 * time.Second):
		t.Fatal("a second SIGTERM did not end the process within 5s")
	}
}

// freePort returns a loopback port that was free a moment ago (the server
// refuses port 0: people must be able to reach it).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
