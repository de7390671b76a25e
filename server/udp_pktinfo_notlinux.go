//go:build !linux

package server

import "net"

// platformPktConn: elsewhere x/net's control messages serve (pkt4,
// pkt6), and an IPv4 peer of a dual-stack socket is answered from the
// source the kernel picks.
func platformPktConn(*net.UDPConn, uint16, bool) pktConn { return nil }
