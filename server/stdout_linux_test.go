package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// stalledServer runs the real server with its stdout on a pipe that the
// test stops reading after the start line, as a log driver that blocks or
// a `| less` nobody scrolls would.
func stalledServer(t *testing.T) (p *smiletest.Proc, addr string, rest *bufio.Reader) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	addr = fmt.Sprintf("127.0.0.1:%d", smiletest.FreePort(t))
	p = smiletest.Start(t, serverBinary(t), smiletest.Options{Stdout: w}, "-resolve=false", "-listen", addr)
	_ = w.Close() // the server has its own copy
	rest = bufio.NewReader(r)
	line, err := rest.ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, line, "SERVER started")
	return p, addr, rest
}

// TestStalledStdout: greetings never wait for the log. With stdout stalled
// the server keeps greeting in bounded memory, drops the log lines that do
// not fit and counts them; once stdout moves the count is logged, at exit
// it is said on stderr, and SIGTERM exits within its bound even while
// stdout stays stalled.
func TestStalledStdout(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real server: skipped in -short mode")
	}
	const probes = 20000
	t.Run("stdout moves again", func(t *testing.T) {
		p, addr, rest := stalledServer(t)
		ta := probe(addr, defaultGreeting, probes, 8, nil)
		require.Empty(t, ta.failed, "no greeting waited for the log")
		u := p.Usage(t)
		assert.Less(t, u.HWMKB, 48<<10, "peak RSS with stdout stalled, KiB")
		out := &smiletest.Buffer{}
		go func() { _, _ = io.Copy(out, rest) }()
		require.True(t, out.WaitFor(t, "log lines dropped: stdout did not take them lines=", 5*time.Second), "the loss is logged once stdout moves: %s", out)
		code, _ := p.Stop(t)
		assert.Equal(t, 0, code)
		assert.Regexp(t, `^smile-server: \d+ log lines \(\d+ bytes\) dropped: stdout did not take them\n$`, p.Err.String())
		t.Logf("FIGURES stalled stdout: %d greetings, peak RSS %d KiB, %s", ta.ok, u.HWMKB, p.Err)
	})
	t.Run("SIGTERM while stdout stays stalled", func(t *testing.T) {
		p, addr, _ := stalledServer(t)
		ta := probe(addr, defaultGreeting, probes/4, 8, nil)
		require.Empty(t, ta.failed)
		code, took := p.Stop(t)
		assert.Equal(t, 0, code)
		assert.Less(t, took, DefaultDrainIdle+2*time.Second, "exit after SIGTERM with stdout stalled")
		assert.Regexp(t, `^smile-server: \d+ log lines \(\d+ bytes\) dropped: stdout did not take them\n$`, p.Err.String())
		t.Logf("FIGURES stalled stdout: exit %d %v after SIGTERM", code, took.Round(time.Millisecond))
	})
}

// TestStalledStdoutReportIsExact: stdout on a FIFO that is held open and
// never read takes what its buffer holds (64 KiB) and then nothing. At
// SIGTERM the report on stderr must count exactly the lines and bytes that
// are not in the FIFO, and the FIFO must hold whole lines only.
func TestStalledStdoutReportIsExact(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real server: skipped in -short mode")
	}
	const greetings = 20000
	fifo := filepath.Join(t.TempDir(), "stdout")
	require.NoError(t, unix.Mkfifo(fifo, 0o600))
	// The test holds the FIFO open for reading (O_RDWR: the open does not
	// wait for a writer) and reads it only after the server has exited.
	held, err := os.OpenFile(fifo, os.O_RDWR|unix.O_NONBLOCK, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = held.Close() })
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", smiletest.FreePort(t))
	p := smiletest.Start(t, serverBinary(t), smiletest.Options{Stdout: w}, "-resolve=false", "-udp=false", "-listen", addr) // one start line: the count below is exact
	_ = w.Close()                                                                                                           // the server has its own copy
	// Its start line is in the FIFO, unread: the first greeting says it listens.
	require.Eventually(t, func() bool { return greetWant(smiletest.Peer{}, addr, defaultGreeting) == nil }, 10*time.Second, 10*time.Millisecond)
	ta := probe(addr, defaultGreeting, greetings-1, 8, nil)
	require.Zero(t, len(ta.failed), "no greeting waited for the log")
	code, _ := p.Stop(t)
	assert.Equal(t, 0, code)

	got := readHeld(t, held)
	m := regexp.MustCompile(`^smile-server: (\d+) log lines \((\d+) bytes\) dropped: stdout did not take them\n$`).FindStringSubmatch(p.Err.String())
	require.NotNil(t, m, "stderr: %q", p.Err)
	lostLines, _ := strconv.Atoi(m[1])
	lostBytes, _ := strconv.Atoi(m[2])

	out := string(got)
	assert.True(t, strings.HasSuffix(out, "\n"), "the FIFO ends in a whole line, not %q", out[max(0, len(out)-40):])
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.NotEmpty(t, lines)
	require.Contains(t, lines[0], "SERVER started")
	// What the server logged: its start line, a line per greeting (all of
	// one length: the same peer address, a fixed-width time) and its two
	// shutdown lines.
	conn := len("2006-01-02T15:04:05.000Z INFO Connection received from 127.0.0.1 (127.0.0.1)\n")
	shutdown := len("2006-01-02T15:04:05.000Z INFO SERVER shutting down: listeners closed, finishing greetings in flight\n") +
		len("2006-01-02T15:04:05.000Z INFO SERVER shutdown complete\n")
	logged := len(lines[0]) + 1 + greetings*conn + shutdown
	t.Logf("FIGURES stalled FIFO: %d of %d lines (%d of %d bytes) in the FIFO; reported dropped %d lines (%d bytes); really not written %d lines (%d bytes)",
		len(lines), greetings+3, len(out), logged, lostLines, lostBytes, greetings+3-len(lines), logged-len(out))
	assert.Equal(t, greetings+3-len(lines), lostLines, "the report counts exactly the lines not written")
	assert.Equal(t, logged-len(out), lostBytes, "the report counts exactly the bytes not written")
}

// readHeld reads what a FIFO held open by the test holds, until it is
// empty (EAGAIN), without waiting for more.
func readHeld(t *testing.T, f *os.File) []byte {
	t.Helper()
	raw, err := f.SyscallConn()
	require.NoError(t, err)
	var got []byte
	buf := make([]byte, 64<<10)
	var rerr error
	require.NoError(t, raw.Control(func(fd uintptr) {
		for {
			n, err := unix.Read(int(fd), buf)
			if err != nil || n == 0 {
				if !errors.Is(err, unix.EAGAIN) {
					rerr = err
				}
				return
			}
			got = append(got, buf[:n]...)
		}
	}))
	require.NoError(t, rerr)
	return got
}
