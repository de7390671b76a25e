package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// listenUDPSocket opens the datagram socket through listenConfig, as the
// stream side's is on Windows.
func listenUDPSocket(ap netip.AddrPort, o sockOpts) (*net.UDPConn, string, error) {
	lc, network, mode := listenConfig(ap, "udp", o)
	pc, err := lc.ListenPacket(context.Background(), network, ap.String())
	if err != nil {
		return nil, "", fmt.Errorf("can't bind to %s: %w", ap, errors.Unwrap(err))
	}
	return pc.(*net.UDPConn), mode, nil
}
