package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/windows"
)

// soExclusiveAddrUse is Winsock's SO_EXCLUSIVEADDRUSE, defined in
// winsock2.h as ~SO_REUSEADDR.
const soExclusiveAddrUse = ^windows.SO_REUSEADDR

// defaultBacklog is what Go's net asks listen() for on Windows, and the
// only backlog a listener gets there: SOMAXCONN, "a reasonable maximum".
func defaultBacklog() int { return syscall.SOMAXCONN }

// noIPv6 reports an error that means the host has no IPv6 at all.
func noIPv6(err error) bool {
	return errors.Is(err, windows.WSAEAFNOSUPPORT) || errors.Is(err, windows.WSAEADDRNOTAVAIL) ||
		errors.Is(err, windows.WSAEPROTONOSUPPORT)
}

// listenSocket opens the stream side's socket through net.ListenConfig.
// net always asks listen() for SOMAXCONN, so -backlog cannot be honoured
// and any other value is an error.
func listenSocket(ap netip.AddrPort, o sockOpts) (*boundListener, error) {
	display := ap.String()
	if o.backlog != defaultBacklog() {
		return nil, fmt.Errorf("can't listen on %s: -backlog %d: Windows listeners take only the system's maximum (leave -backlog unset)", display, o.backlog)
	}
	lc, network, mode := listenConfig(ap, "tcp", o)
	ln, err := lc.Listen(context.Background(), network, display)
	if err != nil {
		return nil, fmt.Errorf("can't bind to %s: %w", display, errors.Unwrap(err))
	}
	return &boundListener{Listener: ln, addr: boundAddr(ap, ln.Addr()), mode: mode, backlog: kernelBacklog(ln, o.backlog)}, nil
}

// listenConfig is how a socket for ap over proto ("tcp", "udp") is made,
// with the net package's network for it and the start line's word for
// what it serves: its Control sets the options between socket() and
// bind(). -reuseaddr keeps its meaning, the restart behaviour of the
// tutorial, with Winsock's own options (docs/platforms.md): SO_REUSEADDR
// on Windows lets a second socket bind a port that is in use, even one
// listening, so it is never set; a listener binds over TIME_WAIT
// connections by default, and -reuseaddr=false sets SO_EXCLUSIVEADDRUSE,
// with which a bind fails while connections on the port linger, as on
// Linux without SO_REUSEADDR.
func listenConfig(ap netip.AddrPort, proto string, o sockOpts) (lc net.ListenConfig, network, mode string) {
	display := ap.String()
	v6only, mode := bindMode(ap, o)
	network = proto + "4"
	if ap.Addr().Is6() {
		network = proto + "6"
	}
	lc.Control = func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			h := windows.Handle(fd)
			if !o.reuseAddr {
				if err := windows.SetsockoptInt(h, windows.SOL_SOCKET, soExclusiveAddrUse, 1); err != nil {
					serr = fmt.Errorf("can't set SO_EXCLUSIVEADDRUSE on %s: %w", display, err)
					return
				}
			}
			if ap.Addr().Is6() {
				if err := windows.SetsockoptInt(h, windows.IPPROTO_IPV6, windows.IPV6_V6ONLY, boolInt(v6only)); err != nil {
					serr = fmt.Errorf("can't set IPV6_V6ONLY on %s: %w", display, err)
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
	return lc, network, mode
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
