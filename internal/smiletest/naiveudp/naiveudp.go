// Package naiveudp is the UDP server most people write, kept as the
// tests' proof that a multi-homed check can fail: bound to the wildcard,
// it answers with WriteTo and lets the kernel pick the source address,
// which on a host with several addresses is not always the one the
// datagram was sent to, so a client's connected socket drops the answer.
// server's tests run it on loopback, the integration suite in a container
// (netfault answer-naive).
package naiveudp

import (
	"net"
	"net/netip"
)

// maxDatagram is the largest UDP payload, read whole.
const maxDatagram = 65535 - 8

// Serve answers every datagram on pc at least as long as greeting with
// greeting, sent with WriteTo from whatever source the kernel picks, until
// pc is closed.
func Serve(pc *net.UDPConn, greeting []byte) {
	b := make([]byte, maxDatagram+1)
	for {
		n, from, err := pc.ReadFromUDPAddrPort(b)
		if err != nil {
			return
		}
		if n >= len(greeting) {
			_, _ = pc.WriteToUDPAddrPort(greeting, from)
		}
	}
}

// Listen opens the wildcard socket of network (udp4, udp6 or udp) on port,
// 0 for wildcard, and answers on it in a goroutine of its own (Serve).
func Listen(network string, port uint16, greeting []byte) (*net.UDPConn, error) {
	wildcard := netip.IPv6Unspecified()
	if network == "udp4" {
		wildcard = netip.IPv4Unspecified()
	}
	pc, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(wildcard, port)))
	if err != nil {
		return nil, err
	}
	go Serve(pc, greeting)
	return pc, nil
}
