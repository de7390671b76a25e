// Package resolver builds the DNS resolver both programs use, so that
// -resolver can point either at one DNS server to check its records, or
// at a dead or slow server of a test's own.
package resolver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// ParseServer accepts IP:PORT, [IPv6]:PORT or a bare IP (port 53).
func ParseServer(s string) (string, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return "", fmt.Errorf("bad resolver %q: port 0", s)
		}
		return ap.String(), nil
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	return "", fmt.Errorf("bad resolver %q: want IP:PORT", s)
}

// New returns the system's resolver for server "", and otherwise a pure-Go
// resolver that sends every query to server (UDP, TCP when a reply is
// truncated), whatever /etc/resolv.conf says. /etc/hosts is still read
// first, as the system resolver would.
func New(server string) *net.Resolver {
	if server == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}
}
