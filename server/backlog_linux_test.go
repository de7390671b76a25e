package server

import (
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// listenerBacklog asks the kernel for a listening socket's backlog: for a
// listener, TCP_INFO's tcpi_sacked holds sk_max_ack_backlog.
func listenerBacklog(t *testing.T, ln net.Listener) (backlog, queued uint32) {
	t.Helper()
	raw, err := ln.(*net.TCPListener).SyscallConn()
	require.NoError(t, err)
	var info *unix.TCPInfo
	var ierr error
	require.NoError(t, raw.Control(func(fd uintptr) { info, ierr = tcpInfo(int(fd)) }))
	require.NoError(t, ierr)
	return info.Sacked, info.Unacked
}

// needTCPInfo skips a test that reads a listener's backlog or queue from
// TCP_INFO where the kernel's answer does not arrive whole (tcpInfo): under
// qemu-user, make unit-arm64.
func needTCPInfo(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	if err := control(ln, func(fd int) error { _, err := tcpInfo(fd); return err }); err != nil {
		t.Skipf("needs a listener's TCP_INFO: %v", err)
	}
}

func TestBacklogReachesTheKernel(t *testing.T) {
	needTCPInfo(t)
	for _, n := range []int{1, 5, 128} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			l, err := listenSocket(netip.MustParseAddrPort("127.0.0.1:0"), sockOpts{reuseAddr: true, backlog: n})
			require.NoError(t, err)
			defer l.Close()
			backlog, _ := listenerBacklog(t, l.Listener)
			assert.Equal(t, uint32(n), backlog)
		})
	}
}

// TestBacklogBoundsTheQueue never accepts and counts what the kernel
// holds: Linux queues backlog+1 completed connections, then drops SYNs.
func TestBacklogBoundsTheQueue(t *testing.T) {
	needTCPInfo(t)
	const backlog = 3
	l, err := listenSocket(netip.MustParseAddrPort("127.0.0.1:0"), sockOpts{reuseAddr: true, backlog: backlog})
	require.NoError(t, err)
	defer l.Close()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range backlog + 3 {
		c, err := net.DialTimeout("tcp", l.Addr().String(), 300*time.Millisecond)
		if err == nil {
			conns = append(conns, c)
		}
	}
	require.Eventually(t, func() bool {
		_, queued := listenerBacklog(t, l.Listener)
		return queued == backlog+1
	}, 3*time.Second, 10*time.Millisecond, "the accept queue holds backlog+1")
	_, queued := listenerBacklog(t, l.Listener)
	assert.Equal(t, uint32(backlog+1), queued)
}

// TestBacklogFlagAsSSShowsIt runs the whole server and reads the backlog
// the way an operator would: ss shows it as Send-Q of the listener.
func TestBacklogFlagAsSSShowsIt(t *testing.T) {
	ss, err := exec.LookPath("ss")
	if err != nil {
		t.Skip("ss (iproute2) not installed; TestBacklogReachesTheKernel covers the kernel's view")
	}
	port := smiletest.FreePort(t)
	startServer(t, "-resolve=false", "-backlog", "7", "-listen", fmt.Sprintf("127.0.0.1:%d", port))
	out, err := exec.Command(ss, "-Hltn", fmt.Sprintf("sport = :%d", port)).Output()
	require.NoError(t, err)
	fields := strings.Fields(string(out))
	require.GreaterOrEqual(t, len(fields), 4, "ss output: %q", out)
	assert.Equal(t, "LISTEN", fields[0])
	assert.Equal(t, "7", fields[2], "Send-Q of a listener is its backlog: %q", out)
}

func TestReuseAddrReallyCleared(t *testing.T) {
	for _, reuse := range []bool{true, false} {
		l, err := listenSocket(netip.MustParseAddrPort("127.0.0.1:0"), sockOpts{reuseAddr: reuse, backlog: 8})
		require.NoError(t, err)
		raw, err := l.Listener.(*net.TCPListener).SyscallConn()
		require.NoError(t, err)
		var v int
		require.NoError(t, raw.Control(func(fd uintptr) { v, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR) }))
		assert.Equal(t, boolInt(reuse), v, "SO_REUSEADDR with reuse=%v", reuse)
		_ = l.Close()
	}
}

// TestBacklogLoggedAsTheKernelCappedIt: listen(2) silently caps -backlog
// at net.core.somaxconn; the log says what the kernel gave, and warns.
func TestBacklogLoggedAsTheKernelCappedIt(t *testing.T) {
	needTCPInfo(t)
	somaxconn := defaultBacklog()
	port := smiletest.FreePort(t)
	for _, c := range []struct{ asked, got int }{{7, 7}, {somaxconn + 1000, somaxconn}} {
		t.Run(fmt.Sprint(c.asked), func(t *testing.T) {
			s := startServer(t, "-resolve=false", "-log-format", "json", "-backlog", fmt.Sprint(c.asked), "-listen", fmt.Sprintf("127.0.0.1:%d", port))
			capped := fmt.Sprintf(`"msg":"-backlog %d capped by the kernel at %d (net.core.somaxconn)"`, c.asked, c.got)
			if c.asked != c.got {
				// The warning follows the start line, maybe in the next flush.
				assert.True(t, s.out.WaitFor(t, capped, 2*time.Second), s.out.String())
			}
			assert.Equal(t, 0, s.stop())
			out := s.out.String()
			assert.Contains(t, out, fmt.Sprintf(`"backlog":%d,`, c.got), "the start line's backlog: %s", out)
			if c.asked == c.got {
				assert.NotContains(t, out, "capped")
			}
		})
	}
}
