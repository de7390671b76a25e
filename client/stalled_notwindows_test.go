//go:build !windows

package client

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// stalled returns the port of a listener on [::1] (on port, or a free port
// for "0") whose accept queue is full, so the kernel drops every further
// SYN: connecting to it hangs, as behind a firewall that drops, with no
// packet leaving the machine.
func stalled(t *testing.T, port string) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	unix.CloseOnExec(fd)
	t.Cleanup(func() { _ = unix.Close(fd) })
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	require.NoError(t, unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1))
	require.NoError(t, unix.Bind(fd, &unix.SockaddrInet6{Port: p, Addr: [16]byte{15: 1}}))
	require.NoError(t, unix.Listen(fd, 0)) // room for one connection nobody accepts
	sa, err := unix.Getsockname(fd)
	require.NoError(t, err)
	addr := net.JoinHostPort("::1", strconv.Itoa(sa.(*unix.SockaddrInet6).Port))
	for i := 0; ; i++ {
		require.Less(t, i, 8, "the accept queue never filled")
		c, err := net.DialTimeout("tcp6", addr, 200*time.Millisecond)
		if err != nil {
			break // this SYN was dropped: the queue is full
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	_, port, _ = net.SplitHostPort(addr)
	return port
}
