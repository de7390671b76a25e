package netaddr

import (
	"net"
	"net/netip"
)

// Unique returns addrs with IPv4-mapped IPv6 addresses unmapped and
// repeats dropped, in order: a resolver may answer one address twice (as
// A and as mapped AAAA, or in two records), and a socket or a probe per
// answer would do the same work twice.
func Unique(addrs []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(addrs))
	seen := make(map[netip.Addr]bool, len(addrs))
	for _, a := range addrs {
		a = a.Unmap()
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// AddrPortOf is a socket address as an address and port, with an IPv4
// peer of a dual-stack socket as dotted IPv4, never ::ffff:a.b.c.d. It is
// the zero AddrPort for an address that is not IP.
func AddrPortOf(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	case nil:
	default:
		ap, _ = netip.ParseAddrPort(a.String())
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
