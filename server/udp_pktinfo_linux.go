package server

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// linuxPkt reads and answers with the destination in control messages it
// parses and builds itself in buffers it keeps, where x/net's
// ControlMessage allocates a few objects per datagram, and it says an
// IPv4 destination of a dual-stack socket, ::ffff:a.b.c.d, back as the
// source (IPV6_PKTINFO with a mapped address, which Linux's ip_cmsg_send
// takes for a mapped peer and x/net leaves out). The socket options are
// set through x/net by newPktConn before.
type linuxPkt struct {
	pc   *net.UDPConn
	port uint16
	v6   bool
	roob []byte // read's control messages
	woob []byte // write's: one pktinfo
}

func platformPktConn(pc *net.UDPConn, port uint16, v6 bool) pktConn {
	size := unix.SizeofInet4Pktinfo
	if v6 {
		size = unix.SizeofInet6Pktinfo
	}
	return &linuxPkt{pc: pc, port: port, v6: v6, roob: make([]byte, 128), woob: make([]byte, unix.CmsgSpace(size))}
}

func (c *linuxPkt) read(b []byte) (int, netip.AddrPort, netip.AddrPort, error) {
	n, oobn, _, src, err := c.pc.ReadMsgUDPAddrPort(b, c.roob)
	if err != nil {
		return 0, netip.AddrPort{}, netip.AddrPort{}, err
	}
	var local netip.AddrPort
	for o := c.roob[:oobn]; len(o) >= unix.SizeofCmsghdr; {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&o[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(o) {
			break
		}
		data := o[unix.CmsgLen(0):l]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			local = netip.AddrPortFrom(netip.AddrFrom4([4]byte(data[8:12])), c.port) // ipi_addr
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			a := netip.AddrFrom16([16]byte(data[0:16]))
			if i := binary.NativeEndian.Uint32(data[16:20]); a.IsLinkLocalUnicast() && i > 0 {
				a = a.WithZone(strconv.Itoa(int(i))) // the link, by index: no lookup per datagram
			}
			local = netip.AddrPortFrom(a, c.port)
		}
		o = o[min(len(o), unix.CmsgSpace(l-unix.CmsgLen(0))):]
	}
	return n, src, local, nil
}

func (c *linuxPkt) write(b []byte, peer, local netip.AddrPort) error {
	if !local.IsValid() {
		_, err := c.pc.WriteToUDPAddrPort(b, peer)
		return err
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&c.woob[0]))
	if c.v6 {
		h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
		pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&c.woob[unix.CmsgLen(0)]))
		pi.Addr = local.Addr().As16()
		i, _ := strconv.Atoi(local.Addr().Zone()) // a link-local source means its own link
		pi.Ifindex = uint32(i)
	} else {
		h.Level, h.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
		pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&c.woob[unix.CmsgLen(0)]))
		*pi = unix.Inet4Pktinfo{Spec_dst: local.Addr().As4()} // the source; the kernel routes
	}
	_, _, err := c.pc.WriteMsgUDPAddrPort(b, c.woob, peer)
	return err
}
