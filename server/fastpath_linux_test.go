package server

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestLingerSetBounds: a socket greeted on the fast path lingers in the
// linger set after the server's FIN: bytes the peer sends then are dropped
// (the peer stays in CLOSE_WAIT, no reset), for at most lingerTimeout, and
// only while fewer than -max-conns sockets linger. Past either bound the
// server's socket is closed, which the peer sees as a reset of the bytes it
// sends next (its socket goes to CLOSE). Bytes that reach the server before
// that close are dropped with what has arrived, so a peer past a bound
// sends until its reset comes, as a slow machine may close late.
func TestLingerSetBounds(t *testing.T) {
	cases := []struct {
		name     string
		maxConns int
		hold     int           // peers that read their greeting and stay open first
		wait     time.Duration // before the last peer sends
		reset    bool          // the last peer's bytes are answered with a reset
	}{
		{"bytes after the greeting are dropped while the server lingers", 8, 0, 0, false},
		{"a peer that never closes is let go after the linger timeout", 8, 0, lingerTimeout + 200*time.Millisecond, true},
		{"past -max-conns lingering sockets the server closes at once", 1, 1, 0, true},
		{"below -max-conns lingering sockets the server lingers", 2, 1, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, _, _, _ := serveOn(t, defaultGreeting, tc.maxConns, time.Second)
			for range tc.hold {
				readToEOF(t, addr) // open until the test ends: it lingers
			}
			conn := readToEOF(t, addr)
			time.Sleep(tc.wait)
			_, err := conn.Write([]byte("late bytes"))
			require.NoError(t, err, "the first write after the server's FIN is buffered")
			if !tc.reset {
				time.Sleep(300 * time.Millisecond)
				assert.Equal(t, uint8(unix.BPF_TCP_CLOSE_WAIT), tcpState(t, conn), "no reset: the lingering server drops the bytes")
				return
			}
			// Within a second of the bound the server's socket is closed:
			// the bytes sent next are answered with a reset.
			state := tcpState(t, conn)
			for end := time.Now().Add(time.Second); state != unix.BPF_TCP_CLOSE && time.Now().Before(end); state = tcpState(t, conn) {
				time.Sleep(20 * time.Millisecond)
				_, _ = conn.Write([]byte("more late bytes"))
			}
			assert.Equal(t, uint8(unix.BPF_TCP_CLOSE), state, "the peer's bytes past the bound are answered with a reset")
		})
	}
}

// readToEOF connects to addr and reads the greeting and the server's FIN,
// leaving the connection open; the test closes it at the end.
func readToEOF(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp4", addr)
	require.NoError(t, err)
	conn := c.(*net.TCPConn)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	got, err := io.ReadAll(conn)
	require.NoError(t, err)
	require.Equal(t, defaultGreeting, string(got))
	return conn
}

// tcpState is the kernel's TCP state of conn (TCP_INFO).
func tcpState(t *testing.T, conn *net.TCPConn) uint8 {
	t.Helper()
	raw, err := conn.SyscallConn()
	require.NoError(t, err)
	var info *unix.TCPInfo
	var ierr error
	require.NoError(t, raw.Control(func(fd uintptr) { info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }))
	require.NoError(t, ierr)
	return info.State
}
