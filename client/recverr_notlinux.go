//go:build !linux

package client

import (
	"context"
	"net"
	"net/netip"
)

// dialTCP connects to addr over network ("tcp4" or "tcp6"). Only Linux
// reports who sent an ICMP error (recverr_linux.go); elsewhere the error
// is the errno alone.
func dialTCP(ctx context.Context, network string, addr netip.AddrPort) (net.Conn, error) {
	return greetingDialer.DialContext(ctx, network, addr.String())
}

// greetingDialer dials without TCP keep-alive: a greeting is read to EOF
// within -read-timeout, long before a keep-alive probe could be sent, and
// Go's default would cost every probe four setsockopt(2) calls.
var greetingDialer = net.Dialer{KeepAlive: -1}
