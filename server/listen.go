package server

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

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

// bindMode says whether a socket bound to ap sets IPV6_V6ONLY (-v6only,
// or any IPv6 address but the wildcard), and the start line's word for
// what it serves.
func bindMode(ap netip.AddrPort, o sockOpts) (v6only bool, mode string) {
	if !ap.Addr().Is6() {
		return false, "IPv4 only"
	}
	if v6only = o.v6only || !ap.Addr().IsUnspecified(); v6only {
		return true, "IPv6 only"
	}
	return false, "dual-stack"
}

// boundAddr is a bound socket's address: the address as asked (it keeps
// an IPv6 zone), the port as bound (the kernel picks one for port 0),
// from a TCP or a UDP socket's address.
func boundAddr(ap netip.AddrPort, local net.Addr) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr(), netaddr.AddrPortOf(local).Port())
}

func closeAll(ls []*boundListener) {
	for _, l := range ls {
		_ = l.Close()
	}
}
