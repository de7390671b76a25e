package main

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// TestSecondSignalForcesExit: the first SIGTERM drains, which waits for a
// greeting in flight up to -write-timeout; a second one ends the process
// at once, with exit 1 and a line saying so.
func TestSecondSignalForcesExit(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(smiletest.FreePort(t))
	big := strings.Repeat("B", 120<<10) // more than a stalled peer's socket buffers take
	p := smiletest.Start(t, smiletest.Build(t, "."), smiletest.Options{Ready: "SERVER started"},
		"-resolve=false", "-write-timeout", "60s", "-greeting", big, "-listen", addr)

	// A peer that never reads, with a tiny window: the greeting's write
	// blocks and holds the drain.
	hog, err := smiletest.Peer{Network: "tcp4", Stingy: true}.Dial(addr)
	require.NoError(t, err)
	defer hog.Close()
	time.Sleep(200 * time.Millisecond) // the server is writing

	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.Done():
		t.Fatalf("exited on the first SIGTERM with a greeting in flight: %s", p.Err)
	case <-time.After(500 * time.Millisecond): // draining
	}
	start := time.Now()
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.Done():
		assert.Equal(t, 1, p.Cmd.ProcessState.ExitCode())
		assert.Less(t, time.Since(start), time.Second)
		assert.Equal(t, "smile-server: terminated again: exiting without finishing\n", p.Err.String())
	case <-time.After(5 * time.Second):
		t.Fatal("a second SIGTERM did not end the process within 5s")
	}
}
