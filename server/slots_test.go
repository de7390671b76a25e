package server

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIdleListenerHoldsNoSlot: with one slot and two listeners, each
// listener greets while the other is idle; an idle listener blocked in
// accept must not pin the slot the other needs.
func TestIdleListenerHoldsNoSlot(t *testing.T) {
	port := smiletest.FreePort(t)
	startServer(t, "-resolve=false", "-max-conns", "1",
		"-listen", fmt.Sprintf("127.0.0.1:%d", port), "-listen", fmt.Sprintf("127.0.0.2:%d", port))
	var slowest time.Duration
	for round := range 3 {
		for _, host := range []string{"127.0.0.1", "127.0.0.2"} {
			start := time.Now()
			got, err := smiletest.Peer{Network: "tcp4"}.Greet(net.JoinHostPort(host, fmt.Sprint(port)))
			require.NoError(t, err, "round %d, %s", round, host)
			assert.Equal(t, defaultGreeting, got)
			took := time.Since(start)
			assert.Less(t, took, time.Second, "round %d, %s waited on the other listener", round, host)
			slowest = max(slowest, took)
		}
	}
	t.Logf("FIGURES two listeners, -max-conns 1: 6 of 6 greeted, slowest %v", slowest.Round(10*time.Microsecond))
}

// TestSilentPeerHoldsNoSlot: a peer that reads its greeting but never
// closes keeps its socket lingering for up to a second, but not its slot:
// with -max-conns 1 the next client is greeted at once, and lingering
// sockets past their own bound are closed at once instead of waiting.
func TestSilentPeerHoldsNoSlot(t *testing.T) {
	port := smiletest.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startServer(t, "-resolve=false", "-max-conns", "1", "-write-timeout", "100ms", "-listen", addr)
	const silent = 3 // more than the one lingering close -max-conns 1 allows
	var held time.Duration
	for i := range silent {
		conn, err := net.Dial("tcp4", addr)
		require.NoError(t, err)
		defer conn.Close()
		start := time.Now()
		got, err := smiletest.Peer{Network: "tcp4"}.Greet(addr)
		took := time.Since(start)
		require.NoError(t, err)
		assert.Equal(t, defaultGreeting, got)
		assert.Less(t, took, 300*time.Millisecond, "client after silent peer %d waited for its slot", i)
		held = max(held, took)
		// The silent peer got its whole greeting and the server's FIN.
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		b, err := io.ReadAll(conn)
		assert.NoError(t, err)
		assert.Equal(t, defaultGreeting, string(b))
	}
	t.Logf("FIGURES slot hold with a silent peer: next client greeted after at most %v", held.Round(10*time.Microsecond))
}
