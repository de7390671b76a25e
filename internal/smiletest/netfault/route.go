//go:build linux

package netfault

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// unroute removes every route of the main table that reaches addr: the
// on-link route of its subnet and the default route of its family. What is
// left is a host that has no way to the address at all, so connect fails
// at once with "network is unreachable", as on a host whose IPv6 uplink is
// down.
func unroute(addr netip.Addr) error {
	family := netlink.FAMILY_V4
	if addr.Is6() {
		family = netlink.FAMILY_V6
	}
	routes, err := netlink.RouteList(nil, family)
	if err != nil {
		return fmt.Errorf("listing routes: %w", err)
	}
	ip := net.IP(addr.AsSlice())
	removed := 0
	for _, r := range routes {
		if r.Dst != nil && !r.Dst.Contains(ip) {
			continue
		}
		if r.Dst != nil && r.Dst.IP.IsLoopback() {
			continue
		}
		if err := netlink.RouteDel(&r); err != nil {
			return fmt.Errorf("removing the route %s: %w", r, err)
		}
		removed++
	}
	if removed == 0 {
		return errors.New("no route reaches " + addr.String())
	}
	return nil
}

// addRoutes routes each prefix through its gateway, replacing a route to
// the same prefix, with the TCP MSS to advertise when advmss > 0: a host
// whose link is small but whose MSS is that of a bigger one, as behind a
// router that does not clamp it.
func addRoutes(routes []Route, advmss int) error {
	for _, r := range routes {
		route := &netlink.Route{Dst: ipNet(r.Dst), Gw: net.IP(r.Via.AsSlice()), AdvMSS: advmss}
		if err := netlink.RouteReplace(route); err != nil {
			return fmt.Errorf("routing %s via %s: %w", r.Dst, r.Via, err)
		}
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// setMTU sets the MTU of every link that holds one of the addresses.
func setMTU(addrs []netip.Addr, mtu int) error {
	links, err := netlink.LinkList()
	if err != nil {
		return fmt.Errorf("listing links: %w", err)
	}
	for _, a := range addrs {
		found := false
		for _, l := range links {
			held, err := netlink.AddrList(l, netlink.FAMILY_ALL)
			if err != nil {
				return fmt.Errorf("listing the addresses of %s: %w", l.Attrs().Name, err)
			}
			for _, h := range held {
				if ip, ok := netip.AddrFromSlice(h.IP); ok && ip.Unmap() == a {
					found = true
					if err := netlink.LinkSetMTU(l, mtu); err != nil {
						return fmt.Errorf("setting the MTU of %s: %w", l.Attrs().Name, err)
					}
				}
			}
		}
		if !found {
			return errors.New("no link holds " + a.String())
		}
	}
	return nil
}

// setRouteMTU gives the route to each prefix, the one the namespace
// already has (an on-link route of a router's leg), the MTU mtu, locked,
// and leaves the links as they are. Forwarded packets honour a route's
// MTU (IPv6 only a locked one), so a router answers those bigger than mtu
// with ICMP "fragmentation needed" / "packet too big" from its own
// address, as one in front of a narrower link does; a link's MTU would
// also make it drop bigger frames its neighbours send it, without a word.
func setRouteMTU(dsts []netip.Prefix, mtu int) error {
	for _, d := range dsts {
		family := netlink.FAMILY_V4
		if d.Addr().Is6() {
			family = netlink.FAMILY_V6
		}
		routes, err := netlink.RouteListFiltered(family, &netlink.Route{Dst: ipNet(d), Table: unix.RT_TABLE_MAIN},
			netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
		if err != nil {
			return fmt.Errorf("listing the routes to %s: %w", d, err)
		}
		if len(routes) == 0 {
			return errors.New("no route to " + d.String())
		}
		for _, r := range routes {
			r.MTU, r.MTULock = mtu, true
			if err := netlink.RouteReplace(&r); err != nil {
				return fmt.Errorf("setting the MTU of the route to %s: %w", d, err)
			}
		}
	}
	return nil
}

// addAddrs adds each address to the link that already holds an address of
// its subnet: a second address on the host's link, as a VIP or an alias
// is. IPv6 addresses skip duplicate address detection, so they answer at
// once rather than after a second of being tentative.
func addAddrs(prefixes []netip.Prefix) error {
	links, err := netlink.LinkList()
	if err != nil {
		return fmt.Errorf("listing links: %w", err)
	}
	for _, p := range prefixes {
		link, err := linkOfSubnet(links, p)
		if err != nil {
			return err
		}
		a := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD
		}
		if err := netlink.AddrAdd(link, a); err != nil {
			return fmt.Errorf("adding %s to %s: %w", p, link.Attrs().Name, err)
		}
	}
	return nil
}

// linkOfSubnet is the link holding an address in p's subnet.
func linkOfSubnet(links []netlink.Link, p netip.Prefix) (netlink.Link, error) {
	for _, l := range links {
		held, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return nil, fmt.Errorf("listing the addresses of %s: %w", l.Attrs().Name, err)
		}
		for _, h := range held {
			if ip, ok := netip.AddrFromSlice(h.IP); ok && p.Masked().Contains(ip.Unmap()) {
				return l, nil
			}
		}
	}
	return nil, errors.New("no link holds an address in " + p.Masked().String())
}
