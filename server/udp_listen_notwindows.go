//go:build !windows

package server

import (
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// listenUDPSocket builds the datagram socket by hand as the stream side's
// is (bindSocket: -reuseaddr and the family mode mean the same on both).
func listenUDPSocket(ap netip.AddrPort, o sockOpts) (*net.UDPConn, string, error) {
	fd, mode, err := bindSocket(ap, unix.SOCK_DGRAM, o)
	if err != nil {
		return nil, "", err
	}
	pc, err := fileSocket(fd, ap.String(), net.FilePacketConn)
	if err != nil {
		return nil, "", fmt.Errorf("can't open %s for datagrams: %w", ap, err)
	}
	return pc.(*net.UDPConn), mode, nil
}
