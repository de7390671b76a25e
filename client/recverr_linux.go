package client

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/smile-sockets/smile/internal/recverr"
)

// dialTCP connects to addr over network ("tcp4" or "tcp6") with
// IP_RECVERR (IPV6_RECVERR) set, so that an ICMP error that answers the
// SYN is queued on the socket with its sender (docs/router.md, "Who
// answered"): the failure then names who refused, the server's own host
// or a router on the way. The option also makes an ICMPv6 error end the
// connect at once: without it Linux 6.18 ended it only a second later, at
// the SYN's retransmission (measured in docs/router.md). A wake-up with
// no error and no connection reads the queue too, for an error the
// kernel kept as a soft one (it does when the error arrives while
// connect(2) still holds the socket). It connects without TCP keep-alive:
// a greeting is read to EOF within -read-timeout, long before a
// keep-alive probe.
//
// It dials itself rather than through net.Dialer, which closes the socket
// of a failed connect before its error queue can be read, and waits for
// the connect only until the queue says it failed.
func dialTCP(ctx context.Context, network string, addr netip.AddrPort) (net.Conn, error) {
	if addr.Addr().Zone() != "" {
		// A scoped address needs its interface's index: Go's dialer knows.
		var d net.Dialer
		d.KeepAlive = -1
		return d.DialContext(ctx, network, addr.String())
	}
	raddr := net.TCPAddrFromAddrPort(addr)
	fail := func(err error) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: raddr, Err: err}
	}
	family := unix.AF_INET6
	var sa unix.Sockaddr = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16()}
	if addr.Addr().Is4() {
		family = unix.AF_INET
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail(os.NewSyscallError("socket", err))
	}
	if err := recverr.Enable(uintptr(fd), family == unix.AF_INET6); err != nil {
		_ = unix.Close(fd)
		return fail(os.NewSyscallError("setsockopt", err))
	}
	if err := unix.Connect(fd, sa); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		e := connectError(fd, addr.Addr(), err)
		_ = unix.Close(fd)
		return fail(e)
	}
	// A non-blocking descriptor makes a File the runtime's poller waits on.
	f := os.NewFile(uintptr(fd), "tcp "+addr.String())
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return fail(err)
	}
	if d, ok := ctx.Deadline(); ok {
		_ = f.SetWriteDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var cerr error
	werr := rc.Write(func(s uintptr) bool {
		cerr = connected(int(s), addr.Addr())
		return !errors.Is(cerr, errConnecting)
	})
	switch {
	case werr != nil && ctx.Err() != nil:
		cerr = ctx.Err()
	case werr != nil:
		cerr = werr
	}
	if cerr != nil {
		_ = f.Close()
		return fail(cerr)
	}
	_ = f.SetWriteDeadline(time.Time{})
	return &socketConn{File: f, raddr: raddr}, nil
}

// errConnecting: the connect is still under way.
var errConnecting = errors.New("connecting")

// connected says how a non-blocking connect stands: nil once connected,
// errConnecting while under way, else why it failed.
func connected(fd int, dst netip.Addr) error {
	n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return os.NewSyscallError("getsockopt", err)
	}
	switch e := unix.Errno(n); e {
	case 0:
	case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
		return errConnecting
	default:
		return connectError(fd, dst, e)
	}
	if _, err := unix.Getpeername(fd); err == nil {
		return nil
	}
	// No error and not connected: woken by an ICMP error the kernel kept
	// as a soft one, or by nothing (the poller may wake spuriously).
	if ie := readErrQueue(fd, dst); ie != nil {
		return ie
	}
	return errConnecting
}

// connectError is the connect's errno, with the ICMP error behind it when
// the error queue holds one.
func connectError(fd int, dst netip.Addr, errno error) error {
	if ie := readErrQueue(fd, dst); ie != nil {
		return ie
	}
	return os.NewSyscallError("connect", errno)
}

// readErrQueue returns the first ICMP error on the socket's error queue,
// or nil when it holds none.
func readErrQueue(fd int, dst netip.Addr) *icmpError {
	for range 4 { // a few: each answers one SYN
		r := recverr.Read(uintptr(fd))
		if r == nil {
			return nil
		}
		if !r.ICMP() || !r.From.IsValid() {
			continue
		}
		ie := icmpErrorOf(r, "connect", dst)
		if sa, err := unix.Getsockname(fd); err == nil {
			ie.local = sockaddrAddr(sa)
		}
		return ie
	}
	return nil
}

// socketConn is a connected TCP socket as the prober reads it: the File
// the connect was waited on, with the peer's address.
type socketConn struct {
	*os.File
	raddr net.Addr
}

func (c *socketConn) RemoteAddr() net.Addr { return c.raddr }

func (c *socketConn) LocalAddr() net.Addr {
	var local net.Addr
	if rc, err := c.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			if sa, err := unix.Getsockname(int(fd)); err == nil {
				local = net.TCPAddrFromAddrPort(netip.AddrPortFrom(sockaddrAddr(sa), uint16(sockaddrPort(sa))))
			}
		})
	}
	return local
}

// sockaddrAddr is an IPv4 or IPv6 socket address's address.
func sockaddrAddr(sa unix.Sockaddr) netip.Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(sa.Addr)
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(sa.Addr).Unmap()
	}
	return netip.Addr{}
}

func sockaddrPort(sa unix.Sockaddr) int {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return sa.Port
	case *unix.SockaddrInet6:
		return sa.Port
	}
	return 0
}
