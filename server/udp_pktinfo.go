package server

import (
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// pktConn reads a datagram with the address it was sent to and answers
// from that very address: a socket bound to a wildcard address would
// otherwise answer from whichever address the kernel picks for the route
// back, and a client's connected socket drops an answer from an address
// it did not send to (docs/datagrams.md). The destination comes from
// IP_PKTINFO (IPV6_RECVPKTINFO, which on a dual-stack socket carries an
// IPv4 destination as ::ffff:a.b.c.d) and goes back as the source of the
// answer in the same control message. Where the platform has none of
// these (Windows), datagrams are read and answered without it. An answer
// write takes may wait in a batch (Linux's, udp_pktinfo_linux.go) until
// flush or the next read that finds no datagram left; the answers of a
// batch the socket then does not send are added to failed.
type pktConn interface {
	read(b []byte) (n int, peer, local netip.AddrPort, err error)
	write(b []byte, peer, local netip.AddrPort) error
	flush()
}

func newPktConn(pc *net.UDPConn, failed *atomic.Uint64) pktConn {
	la := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	if la.Addr().Is4() {
		p := ipv4.NewPacketConn(pc)
		if p.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true) == nil {
			if f := platformPktConn(pc, la.Port(), false, failed); f != nil {
				return f
			}
			return &pkt4{p: p, port: la.Port()}
		}
	} else {
		p := ipv6.NewPacketConn(pc)
		if p.SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true) == nil {
			if f := platformPktConn(pc, la.Port(), true, failed); f != nil {
				return f
			}
			return &pkt6{p: p, port: la.Port()}
		}
	}
	return plainPkt{pc}
}

// flush: pkt4, pkt6 and plainPkt send each answer as it comes.
func (*pkt4) flush()    {}
func (*pkt6) flush()    {}
func (plainPkt) flush() {}

type pkt4 struct {
	p    *ipv4.PacketConn
	port uint16
}

func (c *pkt4) read(b []byte) (int, netip.AddrPort, netip.AddrPort, error) {
	n, cm, src, err := c.p.ReadFrom(b)
	if cm == nil {
		return readOf(n, src, err, nil, 0, c.port)
	}
	return readOf(n, src, err, cm.Dst.To4(), 0, c.port)
}

func (c *pkt4) write(b []byte, peer, local netip.AddrPort) error {
	var cm *ipv4.ControlMessage
	if local.IsValid() {
		cm = &ipv4.ControlMessage{Src: local.Addr().AsSlice()}
	}
	_, err := c.p.WriteTo(b, cm, net.UDPAddrFromAddrPort(peer))
	return err
}

type pkt6 struct {
	p    *ipv6.PacketConn
	port uint16
}

func (c *pkt6) read(b []byte) (int, netip.AddrPort, netip.AddrPort, error) {
	n, cm, src, err := c.p.ReadFrom(b)
	if cm == nil {
		return readOf(n, src, err, nil, 0, c.port)
	}
	return readOf(n, src, err, cm.Dst, cm.IfIndex, c.port)
}

// readOf is what a read returns: the datagram's size, its sender, and the
// address it was sent to (dst, on port: 4 bytes on an IPv4 socket,
// ::ffff:a.b.c.d on a dual-stack one; an IPv6 link-local one with the
// index of the interface it came in on as its zone, so the answer leaves
// by that link), invalid when the control message did not say.
func readOf(n int, src net.Addr, err error, dst net.IP, ifIndex int, port uint16) (int, netip.AddrPort, netip.AddrPort, error) {
	if err != nil {
		return 0, netip.AddrPort{}, netip.AddrPort{}, err
	}
	var local netip.AddrPort
	if a, ok := netip.AddrFromSlice(dst); ok {
		if a.Is6() && a.IsLinkLocalUnicast() && ifIndex > 0 {
			a = a.WithZone(strconv.Itoa(ifIndex)) // the link, by index: no lookup per datagram
		}
		local = netip.AddrPortFrom(a, port)
	}
	return n, src.(*net.UDPAddr).AddrPort(), local, nil
}

func (c *pkt6) write(b []byte, peer, local netip.AddrPort) error {
	var cm *ipv6.ControlMessage
	if local.IsValid() {
		cm = &ipv6.ControlMessage{Src: local.Addr().WithZone("").AsSlice()}
		cm.IfIndex, _ = strconv.Atoi(local.Addr().Zone()) // a link-local source means its own link
	}
	_, err := c.p.WriteTo(b, cm, net.UDPAddrFromAddrPort(peer))
	return err
}

// plainPkt reads and answers without knowing the destination.
type plainPkt struct{ pc *net.UDPConn }

func (c plainPkt) read(b []byte) (int, netip.AddrPort, netip.AddrPort, error) {
	n, src, err := c.pc.ReadFromUDPAddrPort(b)
	return n, src, netip.AddrPort{}, err
}

func (c plainPkt) write(b []byte, peer, _ netip.AddrPort) error {
	_, err := c.pc.WriteToUDPAddrPort(b, peer)
	return err
}
