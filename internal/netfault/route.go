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
