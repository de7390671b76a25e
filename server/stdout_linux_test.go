package server

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
