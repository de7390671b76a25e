//go:build !windows

package server

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// noIPv6 reports an error that means the host has no IPv6 at all.
func noIPv6(err error) bool {
	return errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.EPROTONOSUPPORT)
}

// listenSocket opens the stream side's socket: TCP, listening with
// o.backlog.
func listenSocket(ap netip.AddrPort, o sockOpts) (*boundListener, error) {
	display := ap.String()
	fd, mode, err := bindSocket(ap, unix.SOCK_STREAM, o)
	if err != nil {
		return nil, err
	}
	if err := unix.Listen(fd, o.backlog); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("can't listen on %s: %w", display, err)
	}
	ln, err := fileSocket(fd, display, net.FileListener)
	if err != nil {
		return nil, fmt.Errorf("can't listen on %s: %w", display, err)
	}
	return &boundListener{Listener: ln, addr: boundAddr(ap, ln.Addr()), mode: mode, backlog: kernelBacklog(ln, o.backlog)}, nil
}

// bindSocket builds a socket of type sotype (SOCK_STREAM, SOCK_DGRAM) by
// hand, socket → setsockopt → bind, because Go's net.Listen always sets
// SO_REUSEADDR and always asks for the maximum backlog, and smile must be
// able to show what happens without the one and with a small other. mode
// is the start line's word for it. Errors name the socket as bound
// ([::]:7890), not as typed (:7890).
func bindSocket(ap netip.AddrPort, sotype int, o sockOpts) (fd int, mode string, err error) {
	display := ap.String()
	family, sa, err := sockaddr(ap)
	if err != nil {
		return -1, "", fmt.Errorf("can't bind to %s: %w", display, err)
	}
	fd, err = newSocket(family, sotype)
	if err != nil {
		return -1, "", fmt.Errorf("can't create socket for %s: %w", display, err)
	}
	defer func() {
		if err != nil {
			_ = unix.Close(fd)
			fd = -1
		}
	}()
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, boolInt(o.reuseAddr)); err != nil {
		return fd, "", fmt.Errorf("can't set SO_REUSEADDR on %s: %w", display, err)
	}
	v6only, mode := bindMode(ap, o)
	if family == unix.AF_INET6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, boolInt(v6only)); err != nil {
			return fd, "", fmt.Errorf("can't set IPV6_V6ONLY on %s: %w", display, err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fd, "", fmt.Errorf("can't bind to %s: %w", display, err)
	}
	return fd, mode, nil
}

// fileSocket hands fd to the net package through wrap (net.FileListener,
// net.FilePacketConn), which takes a descriptor of its own: fd is closed
// either way.
func fileSocket[T any](fd int, name string, wrap func(*os.File) (T, error)) (T, error) {
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return wrap(f)
}

// protocol is the IP protocol of a socket of type sotype.
func protocol(sotype int) int {
	if sotype == unix.SOCK_DGRAM {
		return unix.IPPROTO_UDP
	}
	return unix.IPPROTO_TCP
}

func sockaddr(ap netip.AddrPort) (int, unix.Sockaddr, error) {
	a := ap.Addr()
	if a.Is4() {
		return unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}, nil
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	if z := a.Zone(); z != "" {
		ifi, err := net.InterfaceByName(z)
		if err != nil {
			if n, perr := strconv.Atoi(z); perr == nil {
				sa.ZoneId = uint32(n)
			} else {
				return 0, nil, fmt.Errorf("unknown zone %q", z)
			}
		} else {
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	return unix.AF_INET6, sa, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// control runs f on ln's socket descriptor.
func control(ln net.Listener, f func(fd int) error) error {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return errors.New("listener has no socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
