package server

import (
	"context"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestDrainWaitsForASlowHandshake: a client whose SYN the server answered
// before the stop, but whose handshake completes a long round trip later,
// is greeted, not reset. TCP_DEFER_ACCEPT stands in for the slow path on
// loopback: the kernel completes the connection only when the client's
// first bytes arrive, which the test sends 400 ms after the stop.
func TestDrainWaitsForASlowHandshake(t *testing.T) {
	const roundTrip = 400 * time.Millisecond
	l, err := listenSocket(netip.MustParseAddrPort("127.0.0.1:0"), sockOpts{reuseAddr: true, backlog: 16})
	require.NoError(t, err)
	require.NoError(t, control(l.Listener, func(fd int) error {
		return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 5)
	}))
	out := &syncBuffer{}
	srv := New(Options{}, NewLogger(out, "text"))
	require.Equal(t, DefaultDrainIdle, srv.drainIdle)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l.Listener) }()

	conn, err := net.Dial("tcp4", l.Listener.Addr().String())
	require.NoError(t, err, "the client's connect succeeds: its SYN was answered")
	defer conn.Close()
	time.Sleep(20 * time.Millisecond)
	cancel()
	time.Sleep(roundTrip)
	_, err = conn.Write([]byte("x")) // completes the handshake on the server
	require.NoError(t, err)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(conn)
	assert.NoError(t, err, "a client whose connect succeeded is greeted, not reset")
	assert.Equal(t, defaultGreeting, string(got))
	require.NoError(t, <-done)
	srv.Wait()
}
