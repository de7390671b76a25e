//go:build !linux

package server

import (
	"net"
	"sync/atomic"
)

// platformPktConn: elsewhere x/net's control messages serve (pkt4,
// pkt6), and an IPv4 peer of a dual-stack socket is answered from the
// source the kernel picks.
func platformPktConn(*net.UDPConn, uint16, bool, *atomic.Uint64) pktConn { return nil }
