package server

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The raw system calls of the greeting's fast path (fastpath_linux.go), in one
// place. The sockets they touch are non-blocking, so none of them waits,
// and RawSyscall spares the scheduler's bookkeeping around each. Every
// one replaces something the net package does per connection that a
// write-and-close greeting does not need; docs/performance.md counts them.

// acceptRaw takes one connection off a listening socket with accept4(2):
// net.Listener's Accept would add getsockname(2), five setsockopt(2)
// calls (no-delay, keep-alive) and a netpoller registration.
func acceptRaw(lfd int) (int, netip.AddrPort, error) {
	var rsa unix.RawSockaddrAny
	n := uint32(unix.SizeofSockaddrAny)
	fd, _, errno := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n)),
		unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if errno != 0 {
		return -1, netip.AddrPort{}, errno
	}
	return int(fd), sockaddrPeer(&rsa), nil
}

// sockaddrPeer is the peer of an accepted socket, an IPv4 peer of a
// dual-stack socket as dotted IPv4, with its zone for a link-local one.
func sockaddrPeer(rsa *unix.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port(&sa.Port))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		a := netip.AddrFrom16(sa.Addr).Unmap()
		if sa.Scope_id != 0 && a.Is6() {
			zone := strconv.Itoa(int(sa.Scope_id))
			if name := zoneNames.name(int(sa.Scope_id)); name != "" {
				zone = name
			}
			a = a.WithZone(zone)
		}
		return netip.AddrPortFrom(a, port(&sa.Port))
	}
	return netip.AddrPort{}
}

// port reads a sockaddr's port, which is in network byte order.
func port(p *uint16) uint16 {
	return binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(p))[:])
}

// sendRaw is one send(2): the greeting into the empty send buffer of a
// new connection completes at once, with no netpoller registration or
// write deadline to arm. MSG_NOSIGNAL: a peer that reset is an error, not
// a SIGPIPE.
func sendRaw(fd int, b []byte) (int, error) {
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
			unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil // the send buffer is full: the caller waits for room
		}
		return 0, os.NewSyscallError("write", errno)
	}
}

// shutdownRaw sends the server's FIN (the active close) while the socket
// stays open to take what the peer still sends.
func shutdownRaw(fd int) error {
	if _, _, errno := unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), unix.SHUT_WR, 0); errno != 0 {
		return os.NewSyscallError("shutdown", errno)
	}
	return nil
}

// dropRaw drops what the peer has sent, without copying it (recv(2) with
// MSG_TRUNC), up to limit bytes: more says the peer may still send; false
// is the end (its FIN, an error or the limit).
func dropRaw(fd, limit int) (dropped int, more bool) {
	for dropped < limit {
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&discardSink[0])), uintptr(len(discardSink)),
			unix.MSG_DONTWAIT|unix.MSG_TRUNC, 0, 0)
		switch {
		case errno == unix.EINTR:
			continue
		case errno == unix.EAGAIN:
			return dropped, true
		case errno != 0:
			return dropped, false
		case n == 0:
			return dropped, false
		}
		dropped += int(n)
	}
	return dropped, false
}

// closeRaw is close(2) of a socket no Go object owns.
func closeRaw(fd int) {
	_, _, _ = unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

// epollAddRaw adds fd to the linger set's own epoll instance: one
// epoll_ctl(2), where handing the socket to the netpoller would cost a
// goroutine to wait on it and a second epoll_ctl(2) to remove it.
func epollAddRaw(epfd, fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	_, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), unix.EPOLL_CTL_ADD, uintptr(fd), uintptr(unsafe.Pointer(&ev)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// epollWaitRaw collects the ready sockets of the linger set without
// waiting: nothing waits for them (lingerset_linux.go).
func epollWaitRaw(epfd int, evs []unix.EpollEvent) int {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)), 0, 0, 0)
	if errno != 0 {
		return 0
	}
	return int(n)
}

// epollCreate makes the linger set's epoll instance.
func epollCreate() (int, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return -1, os.NewSyscallError("epoll_create1", err)
	}
	return fd, nil
}

// dupSocket gives the fast path a descriptor of tl's socket that the
// netpoller can wait on for accept4(2): a dup, non-blocking like the
// original, whose os.File is pollable (TCPListener.File's is not).
func dupSocket(tl *net.TCPListener) (*os.File, error) {
	rc, err := tl.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("fcntl", derr)
	}
	return os.NewFile(uintptr(nfd), "listener"), nil
}

// lingers says whether tl's socket has SO_LINGER set (a listener handed to
// Serve by a library caller may), or can't tell. Accepted sockets inherit
// it, and their close(2) then waits up to the linger time for the peer to
// acknowledge what is left to send: inside closeRaw, a raw system call,
// that would hold the thread and its processor, which the runtime gets
// back only by its preemption signal. Such a listener stays off the fast
// path; the ordinary close waits in its connection's own goroutine.
func lingers(tl *net.TCPListener) bool {
	rc, err := tl.SyscallConn()
	if err != nil {
		return true
	}
	var l *unix.Linger
	var gerr error
	if err := rc.Control(func(fd uintptr) { l, gerr = unix.GetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER) }); err != nil || gerr != nil {
		return true
	}
	return l.Onoff != 0
}
