package server

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pktBatch is the most datagrams one recvmmsg(2) takes and one
// sendmmsg(2) answers. A socket under load holds several at once (8
// clients with one request each in flight keep 5 to 20 queued on
// loopback), and one system call for a batch costs little more than one
// for a datagram; a socket holding one gets its answer at once.
const pktBatch = 8

// linuxPkt reads datagrams a batch at a time with recvmmsg(2) and sends
// their answers a batch at a time with sendmmsg(2), raw system calls on
// the socket's descriptor inside the netpoller's Read and Write
// callbacks, with the destination in control messages it parses and
// builds itself, every argument in memory it keeps: no allocation per
// datagram, and fewer system calls than datagrams (docs/performance.md
// counts them against the C loop's two). Through the net package the same
// work entered the scheduler's system-call bookkeeping twice per
// datagram, which kept sysmon waking every ~100 µs to look at the
// socket's thread (the socket is non-blocking, so no call waits, and
// RawSyscall, as the stream side's sys_linux.go, spares it); through
// x/net's ControlMessage it also allocated a few objects per datagram.
// The answers of a batch leave when read finds no datagram left, so none
// waits on a datagram that has not come, or when the batch is full. It
// says an IPv4 destination of a dual-stack socket, ::ffff:a.b.c.d, back as
// the source (IPV6_PKTINFO with a mapped address, which Linux's
// ip_cmsg_send takes for a mapped peer and x/net leaves out). The socket
// options are set through x/net by newPktConn before.
type linuxPkt struct {
	rc     syscall.RawConn
	port   uint16
	v6     bool
	failed *atomic.Uint64 // answers the socket did not send

	// The datagrams of the last recvmmsg(2): in[next:got] are still to
	// be read.
	in        [pktBatch]unix.Mmsghdr
	inSlot    [pktBatch]pktSlot
	next, got int
	rerr      error
	readFn    func(fd uintptr) bool

	// The answers waiting for sendmmsg(2): out[sent:queued] are still to
	// be sent.
	out          [pktBatch]unix.Mmsghdr
	outSlot      [pktBatch]pktSlot
	sent, queued int
	writeFn      func(fd uintptr) bool
}

// pktSlot is what one message of a batch points to.
type pktSlot struct {
	iov  unix.Iovec
	name unix.RawSockaddrInet6 // the peer: an IPv4 socket's sockaddr_in fits
	oob  []byte                // control messages
	buf  []byte                // the datagram; an answer's grows to the largest sent
}

func platformPktConn(pc *net.UDPConn, port uint16, v6 bool, failed *atomic.Uint64) pktConn {
	rc, err := pc.SyscallConn()
	if err != nil {
		return nil
	}
	size := unix.SizeofInet4Pktinfo
	if v6 {
		size = unix.SizeofInet6Pktinfo
	}
	c := &linuxPkt{rc: rc, port: port, v6: v6, failed: failed}
	for i := range pktBatch {
		// Every buffer takes the largest datagram; the kernel's pages are
		// touched only as large datagrams come.
		in := &c.inSlot[i]
		in.buf, in.oob = make([]byte, maxDatagram+1), make([]byte, 128)
		in.iov.Base = &in.buf[0]
		in.iov.SetLen(len(in.buf))
		h := &c.in[i].Hdr
		h.Name, h.Iov, h.Iovlen, h.Control = (*byte)(unsafe.Pointer(&in.name)), &in.iov, 1, &in.oob[0]
		out := &c.outSlot[i]
		out.oob = make([]byte, unix.CmsgSpace(size))
		h = &c.out[i].Hdr
		h.Name, h.Iov, h.Iovlen = (*byte)(unsafe.Pointer(&out.name)), &out.iov, 1
	}
	c.readFn, c.writeFn = c.recvmmsg, c.sendmmsg // bound once: a method value made per call would allocate
	return c
}

// read hands out the next datagram of the batch, or, the batch read,
// sends the answers waiting and reads the next batch, waiting for one.
func (c *linuxPkt) read(b []byte) (int, netip.AddrPort, netip.AddrPort, error) {
	for c.next >= c.got {
		c.flush()
		c.next, c.got, c.rerr = 0, 0, nil
		err := c.rc.Read(c.readFn) // a deadline or Close ends the wait here
		if err == nil {
			err = c.rerr
		}
		if err != nil {
			return 0, netip.AddrPort{}, netip.AddrPort{}, err
		}
	}
	m, s := &c.in[c.next], &c.inSlot[c.next]
	c.next++
	n := copy(b, s.buf[:m.Len])
	return n, c.peer(&s.name), c.local(s.oob[:m.Hdr.Controllen]), nil
}

// recvmmsg is the read's callback: one recvmmsg(2) that does not wait;
// false when the socket holds nothing, so the netpoller waits for it.
func (c *linuxPkt) recvmmsg(fd uintptr) bool {
	for i := range c.in {
		c.in[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		c.in[i].Hdr.SetControllen(len(c.inSlot[i].oob))
		c.in[i].Hdr.Flags = 0
	}
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&c.in[0])), pktBatch, unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			c.got = int(n)
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		c.rerr = os.NewSyscallError("recvmmsg", errno)
		return true
	}
}

// peer is the sender of the datagram read, as the socket's family gives
// it: on a dual-stack socket an IPv4 peer is ::ffff:a.b.c.d, which is
// where the answer goes; a link-local one has its interface's index as
// its zone (no lookup per datagram).
func (c *linuxPkt) peer(name *unix.RawSockaddrInet6) netip.AddrPort {
	switch name.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(name))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port(&sa.Port))
	case unix.AF_INET6:
		a := netip.AddrFrom16(name.Addr)
		if name.Scope_id != 0 {
			a = a.WithZone(strconv.Itoa(int(name.Scope_id)))
		}
		return netip.AddrPortFrom(a, port(&name.Port))
	}
	return netip.AddrPort{}
}

// local is the address a datagram was sent to, from its IP_PKTINFO or
// IPV6_PKTINFO message among its control messages oob; invalid when
// there was none.
func (c *linuxPkt) local(oob []byte) netip.AddrPort {
	var local netip.AddrPort
	for o := oob; len(o) >= unix.SizeofCmsghdr; {
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

// write puts an answer into the batch, which leaves when full, at the
// next read that finds no datagram left, or at flush.
func (c *linuxPkt) write(b []byte, peer, local netip.AddrPort) error {
	if c.queued == pktBatch {
		c.flush()
	}
	m, s := &c.out[c.queued].Hdr, &c.outSlot[c.queued]
	if err := c.setPeer(m, s, peer); err != nil {
		return err
	}
	s.buf = append(s.buf[:0], b...)
	s.iov.Base = unsafe.SliceData(s.buf)
	s.iov.SetLen(len(s.buf))
	m.Control = nil
	m.SetControllen(0)
	if local.IsValid() {
		c.setSource(m, s, local)
	}
	c.queued++
	return nil
}

// flush sends the answers waiting, and counts those the socket refuses.
func (c *linuxPkt) flush() {
	if c.queued == 0 {
		return
	}
	c.sent = 0
	if err := c.rc.Write(c.writeFn); err != nil { // waits only while the send buffer is full
		c.failed.Add(uint64(c.queued - c.sent)) // closed
	}
	c.queued = 0
}

// setPeer puts peer into an answer's sockaddr, in the socket's family.
func (c *linuxPkt) setPeer(m *unix.Msghdr, s *pktSlot, peer netip.AddrPort) error {
	a := peer.Addr()
	if !c.v6 {
		if !a.Unmap().Is4() {
			return fmt.Errorf("sendmsg: %s is not an IPv4 address", a)
		}
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&s.name))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.Unmap().As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], peer.Port())
		m.Namelen = unix.SizeofSockaddrInet4
		return nil
	}
	s.name = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16(), Scope_id: zoneIndex(a)}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&s.name.Port))[:], peer.Port())
	m.Namelen = unix.SizeofSockaddrInet6
	return nil
}

// setSource puts local into an answer's control message: its source,
// from which the kernel routes.
func (c *linuxPkt) setSource(m *unix.Msghdr, s *pktSlot, local netip.AddrPort) {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&s.oob[0]))
	if c.v6 {
		h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
		pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&s.oob[unix.CmsgLen(0)]))
		pi.Addr = local.Addr().As16()
		pi.Ifindex = zoneIndex(local.Addr()) // a link-local source means its own link
	} else {
		h.Level, h.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
		pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&s.oob[unix.CmsgLen(0)]))
		*pi = unix.Inet4Pktinfo{Spec_dst: local.Addr().As4()} // the source; the kernel routes
	}
	m.Control = &s.oob[0]
	m.SetControllen(len(s.oob))
}

// sendmmsg is flush's callback: sendmmsg(2) calls that do not wait until
// the batch is sent; false when the send buffer is full, so the
// netpoller waits for room. sendmmsg stops at an answer the socket
// refuses (a source no longer the host's, a peer a rule forbids): that
// one is counted and the rest go on.
func (c *linuxPkt) sendmmsg(fd uintptr) bool {
	for c.sent < c.queued {
		n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&c.out[c.sent])), uintptr(c.queued-c.sent),
			unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			c.sent += int(n)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			c.failed.Add(1)
			c.sent++
		}
	}
	return true
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
