package server

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/smile-sockets/smile/internal/netaddr"
)

// sockOpts are the options every listening socket gets, set between
// socket(2) and bind(2) exactly as the tutorial's server did.
type sockOpts struct {
	reuseAddr bool
	v6only    bool
	backlog   int
	resolver  *net.Resolver // for -listen HOST:PORT; nil: the system's
}

// boundListener is one listening socket with the words its start line uses.
type boundListener struct {
	net.Listener
	addr    netip.AddrPort // as bound
	mode    string         // dual-stack, IPv4 only, IPv6 only
	backlog int            // as the kernel capped it (net.core.somaxconn)
}

// defaultBacklog is the kernel's ceiling for listen(2), which is what Go's
// own net.Listen asks for too.
func defaultBacklog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			return n
		}
	}
	return unix.SOMAXCONN
}

// listenAll opens the sockets for one -listen address: one socket for a
// literal or a wildcard, one per address for a host name.
func listenAll(ctx context.Context, spec netaddr.HostPort, o sockOpts) ([]*boundListener, error) {
	switch spec.Kind {
	case netaddr.Wildcard:
		l, err := listenSocket(netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(spec.Port)), o)
		if err != nil && !o.v6only && noIPv6(err) {
			// A host without IPv6 still serves ":PORT", over IPv4.
			l, err = listenSocket(netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(spec.Port)), o)
			if l != nil {
				l.mode = "IPv4 only, no IPv6 on this host"
			}
		}
		if err != nil {
			return nil, err
		}
		return []*boundListener{l}, nil
	case netaddr.AnyIPv4, netaddr.IPv4, netaddr.IPv6:
		l, err := listenSocket(netip.AddrPortFrom(spec.Addr, uint16(spec.Port)), o)
		if err != nil {
			return nil, err
		}
		return []*boundListener{l}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r := o.resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", spec.Text)
	if err != nil {
		return nil, fmt.Errorf("can't resolve %s: %w", spec.Text, err)
	}
	var out []*boundListener
	var skipped []string
	var firstErr error
	for _, a := range netaddr.Unique(addrs) {
		ap := netip.AddrPortFrom(a, uint16(spec.Port))
		l, err := listenSocket(ap, o)
		if err != nil {
			// localhost names ::1 on a host without IPv6 too: only there
			// may an address be skipped, and the start line says so. An
			// address that fails anywhere else is an error: a half-up
			// server would make a matrix cell lie.
			if a.Is6() && noIPv6(err) && !hostHasIPv6() {
				skipped = append(skipped, ap.String())
				firstErr = cmp.Or(firstErr, err)
				continue
			}
			closeAll(out)
			return nil, err
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, cmp.Or(firstErr, fmt.Errorf("can't bind to %s: no address", spec))
	}
	if len(skipped) > 0 {
		for _, l := range out {
			l.mode += fmt.Sprintf("; %s skipped: no IPv6 on this host", strings.Join(skipped, ", "))
		}
	}
	return out, nil
}

// hostHasIPv6 reports whether any interface has an IPv6 address, as
// /proc/net/if_inet6 lists them: a kernel without IPv6, or with it
// disabled everywhere, lists none.
func hostHasIPv6() bool {
	b, err := os.ReadFile("/proc/net/if_inet6")
	return err == nil && len(bytes.TrimSpace(b)) > 0
}

func closeAll(ls []*boundListener) {
	for _, l := range ls {
		_ = l.Close()
	}
}

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
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
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

// dropNewSYNs attaches a classic BPF filter to a listening socket that
// drops bare SYNs (new handshakes) and lets everything else through, so a
// server that is shutting down can accept what the kernel already queued
// (and handshakes already answered) without new peers joining the queue;
// closing a listener with a non-empty queue would reset those peers.
func dropNewSYNs(ln net.Listener) error {
	// For TCP the filter sees the TCP header first; byte 13 holds the flags.
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_B | unix.BPF_ABS, K: 13},
		{Code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, K: 0x12}, // SYN|ACK
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: 0x02},
		{Code: unix.BPF_RET | unix.BPF_K, K: 0},
		{Code: unix.BPF_RET | unix.BPF_K, K: 0xffffffff},
	}
	return control(ln, func(fd int) error {
		return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]})
	})
}

// kernelBacklog is the backlog the kernel gave ln: listen(2) silently caps
// what it is asked at net.core.somaxconn. For a listener, TCP_INFO's
// tcpi_sacked holds it; asked is the answer where that cannot be read.
func kernelBacklog(ln net.Listener, asked int) int {
	n := asked
	_ = control(ln, func(fd int) error {
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err == nil && info.Sacked > 0 {
			n = int(info.Sacked)
		}
		return err
	})
	return n
}

// queueLen is the number of connections in ln's accept queue (TCP_INFO's
// tcpi_unacked for a listener), or -1 when it cannot be read.
func queueLen(ln net.Listener) int {
	n := -1
	_ = control(ln, func(fd int) error {
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err == nil {
			n = int(info.Unacked)
		}
		return err
	})
	return n
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
