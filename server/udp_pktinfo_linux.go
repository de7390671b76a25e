package server

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// linuxPkt reads and answers with raw recvmsg(2) and sendmsg(2) calls on
// the socket's descriptor, inside the netpoller's Read and Write
// callbacks, with the destination in control messages it parses and
// builds itself, every argument in memory it keeps: no allocation and no
// system call per datagram beyond the two, as in the C loop
// docs/performance.md measures it against. Through the net package and
// x/net's ControlMessage the same work allocated a few objects per
// datagram and entered the scheduler's system-call bookkeeping twice (the
// socket is non-blocking, so neither call waits; RawSyscall, as the
// stream side's sys_linux.go does). It says an IPv4 destination of a
// dual-stack socket, ::ffff:a.b.c.d, back as the source (IPV6_PKTINFO with
// a mapped address, which Linux's ip_cmsg_send takes for a mapped peer and
// x/net leaves out). The socket options are set through x/net by
// newPktConn before.
type linuxPkt struct {
	rc   syscall.RawConn
	port uint16
	v6   bool

	// read's recvmsg(2) arguments and results.
	rmsg   unix.Msghdr
	riov   unix.Iovec
	rname  unix.RawSockaddrInet6 // the sender: an IPv4 socket's sockaddr_in fits
	roob   []byte                // control messages
	rn     int
	rerr   error
	readFn func(fd uintptr) bool

	// write's sendmsg(2) arguments and result.
	wmsg    unix.Msghdr
	wiov    unix.Iovec
	wname   unix.RawSockaddrInet6 // the peer: an IPv4 socket's sockaddr_in fits
	woob    []byte                // one pktinfo
	werr    error
	writeFn func(fd uintptr) bool
}

func platformPktConn(pc *net.UDPConn, port uint16, v6 bool) pktConn {
	rc, err := pc.SyscallConn()
	if err != nil {
		return nil
	}
	size := unix.SizeofInet4Pktinfo
	if v6 {
		size = unix.SizeofInet6Pktinfo
	}
	c := &linuxPkt{rc: rc, port: port, v6: v6, roob: make([]byte, 128), woob: make([]byte, unix.CmsgSpace(size))}
	c.rmsg.Name = (*byte)(unsafe.Pointer(&c.rname))
	c.rmsg.Iov, c.rmsg.Iovlen = &c.riov, 1
	c.rmsg.Control = &c.roob[0]
	c.wmsg.Name = (*byte)(unsafe.Pointer(&c.wname))
	c.wmsg.Iov, c.wmsg.Iovlen = &c.wiov, 1
	c.readFn, c.writeFn = c.recvmsg, c.sendmsg // bound once: a method value made per call would allocate
	return c
}

func (c *linuxPkt) read(b []byte) (int, netip.AddrPort, netip.AddrPort, error) {
	c.riov.Base = unsafe.SliceData(b)
	c.riov.SetLen(len(b))
	c.rerr = nil
	err := c.rc.Read(c.readFn) // a deadline or Close ends the wait here
	if err == nil {
		err = c.rerr
	}
	if err != nil {
		return 0, netip.AddrPort{}, netip.AddrPort{}, err
	}
	return c.rn, c.peer(), c.local(), nil
}

// recvmsg is the read's callback: one recvmsg(2) that does not wait;
// false when the socket holds nothing, so the netpoller waits for it.
func (c *linuxPkt) recvmsg(fd uintptr) bool {
	for {
		c.rmsg.Namelen = unix.SizeofSockaddrInet6
		c.rmsg.SetControllen(len(c.roob))
		n, _, errno := unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&c.rmsg)), unix.MSG_DONTWAIT)
		switch errno {
		case 0:
			c.rn = int(n)
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		c.rerr = os.NewSyscallError("recvmsg", errno)
		return true
	}
}

// peer is the sender of the datagram read, as the socket's family gives
// it: on a dual-stack socket an IPv4 peer is ::ffff:a.b.c.d, which is
// where the answer goes; a link-local one has its interface's index as
// its zone (no lookup per datagram).
func (c *linuxPkt) peer() netip.AddrPort {
	switch c.rname.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&c.rname))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port(&sa.Port))
	case unix.AF_INET6:
		a := netip.AddrFrom16(c.rname.Addr)
		if c.rname.Scope_id != 0 {
			a = a.WithZone(strconv.Itoa(int(c.rname.Scope_id)))
		}
		return netip.AddrPortFrom(a, port(&c.rname.Port))
	}
	return netip.AddrPort{}
}

// local is the address the datagram read was sent to, from its
// IP_PKTINFO or IPV6_PKTINFO message; invalid when there was none.
func (c *linuxPkt) local() netip.AddrPort {
	var local netip.AddrPort
	for o := c.roob[:c.rmsg.Controllen]; len(o) >= unix.SizeofCmsghdr; {
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
	return local
}

func (c *linuxPkt) write(b []byte, peer, local netip.AddrPort) error {
	if err := c.setPeer(peer); err != nil {
		return err
	}
	c.wiov.Base = unsafe.SliceData(b)
	c.wiov.SetLen(len(b))
	c.wmsg.Control = nil
	c.wmsg.SetControllen(0)
	if local.IsValid() {
		c.setSource(local)
	}
	c.werr = nil
	if err := c.rc.Write(c.writeFn); err != nil { // waits only while the send buffer is full
		return err
	}
	return c.werr
}

// setPeer puts peer into write's sockaddr, in the socket's family.
func (c *linuxPkt) setPeer(peer netip.AddrPort) error {
	a := peer.Addr()
	if !c.v6 {
		if !a.Unmap().Is4() {
			return fmt.Errorf("sendmsg: %s is not an IPv4 address", a)
		}
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&c.wname))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.Unmap().As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], peer.Port())
		c.wmsg.Namelen = unix.SizeofSockaddrInet4
		return nil
	}
	c.wname = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16(), Scope_id: zoneIndex(a)}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&c.wname.Port))[:], peer.Port())
	c.wmsg.Namelen = unix.SizeofSockaddrInet6
	return nil
}

// setSource puts local into write's control message: the answer's
// source, from which the kernel routes.
func (c *linuxPkt) setSource(local netip.AddrPort) {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&c.woob[0]))
	if c.v6 {
		h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
		pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&c.woob[unix.CmsgLen(0)]))
		pi.Addr = local.Addr().As16()
		pi.Ifindex = zoneIndex(local.Addr()) // a link-local source means its own link
	} else {
		h.Level, h.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
		pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&c.woob[unix.CmsgLen(0)]))
		*pi = unix.Inet4Pktinfo{Spec_dst: local.Addr().As4()} // the source; the kernel routes
	}
	c.wmsg.Control = &c.woob[0]
	c.wmsg.SetControllen(len(c.woob))
}

// sendmsg is the write's callback: one sendmsg(2) that does not wait;
// false when the send buffer is full, so the netpoller waits for room.
func (c *linuxPkt) sendmsg(fd uintptr) bool {
	for {
		_, _, errno := unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&c.wmsg)), unix.MSG_DONTWAIT)
		switch errno {
		case 0:
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		c.werr = os.NewSyscallError("sendmsg", errno)
		return true
	}
}

// zoneIndex is the interface index a's zone names: peer and local
// addresses carry it as a number (read sets them so), a name is looked
// up; 0 without a zone.
func zoneIndex(a netip.Addr) uint32 {
	z := a.Zone()
	if z == "" {
		return 0
	}
	if i, err := strconv.Atoi(z); err == nil {
		return uint32(i)
	}
	if ifi, err := net.InterfaceByName(z); err == nil {
		return uint32(ifi.Index)
	}
	return 0
}
