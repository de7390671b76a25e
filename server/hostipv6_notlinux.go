//go:build !linux

package server

import "net"

// hostHasIPv6 reports whether any interface has an IPv6 address.
func hostHasIPv6() bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() == nil {
			return true
		}
	}
	return false
}
