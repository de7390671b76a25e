//go:build linux

package netfault

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
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
