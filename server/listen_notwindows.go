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

// listenSocket builds a listening socket by hand, socket → setsockopt →
// bind → listen, because Go's net.Listen always sets SO_REUSEADDR and
// always asks for the maximum backlog, and smile must be able to show what
// happens without the one and with a small other. Errors name the socket
// as bound ([::]:7890), not as typed (:7890).
func listenSocket(ap netip.AddrPort, o sockOpts) (l *boundListener, err error) {
	display := ap.String()
	family, sa, err := sockaddr(ap)
	if err != nil {
		return nil, fmt.Errorf("can't bind to %s: %w", display, err)
	}
	fd, err := newSocket(family)
	if err != nil {
		return nil, fmt.Errorf("can't create socket for %s: %w", display, err)
	}
	defer func() {
		if err != nil {
			_ = unix.Close(fd)
		}
	}()
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, boolInt(o.reuseAddr)); err != nil {
		return nil, fmt.Errorf("can't set SO_REUSEADDR on %s: %w", display, err)
	}
	mode := "IPv4 only"
	if family == unix.AF_INET6 {
		v6only := o.v6only || !ap.Addr().IsUnspecified()
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, boolInt(v6only)); err != nil {
			return nil, fmt.Errorf("can't set IPV6_V6ONLY on %s: %w", display, err)
		}
		mode = "IPv6 only"
		if !v6only {
			mode = "dual-stack"
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return nil, fmt.Errorf("can't bind to %s: %w", display, err)
	}
	if err := unix.Listen(fd, o.backlog); err != nil {
		return nil, fmt.Errorf("can't listen on %s: %w", display, err)
	}
	f := os.NewFile(uintptr(fd), display)
	ln, ferr := net.FileListener(f) // dups the descriptor
	_ = f.Close()
	fd = -1
	if ferr != nil {
		return nil, fmt.Errorf("can't listen on %s: %w", display, ferr)
	}
	// The address as asked (it keeps an IPv6 zone), the port as bound (the
	// kernel picks one for port 0).
	bound := netip.AddrPortFrom(ap.Addr(), ln.Addr().(*net.TCPAddr).AddrPort().Port())
	return &boundListener{Listener: ln, addr: bound, mode: mode, backlog: kernelBacklog(ln, o.backlog)}, nil
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
