package recverr

import (
	"encoding/binary"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// Supported: the queue exists here.
const Supported = true

// Enable asks the kernel to queue ICMP errors on the socket fd with their
// sender (IP_RECVERR, or IPV6_RECVERR for an IPv6 socket).
func Enable(fd uintptr, v6 bool) error {
	if v6 {
		return unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_RECVERR, 1)
	}
	return unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_RECVERR, 1)
}

// sizeofExtendedErr is the size of struct sock_extended_err: errno (4
// bytes), origin, type, code, padding, info (4), data (4).
const sizeofExtendedErr = 16

// Read takes the next error off fd's queue without waiting; nil when the
// queue is empty or holds nothing it can read.
func Read(fd uintptr) *Report {
	var data [64]byte
	var oob [128]byte
	_, oobn, _, _, err := unix.Recvmsg(int(fd), data[:], oob[:], unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
	if err != nil {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil
	}
	for _, m := range msgs {
		if r := Parse(m.Header.Level, m.Header.Type, m.Data); r != nil {
			return r
		}
	}
	return nil
}

// Parse reads a struct sock_extended_err and the offender's address after
// it (SO_EE_OFFENDER) from an IP_RECVERR or IPV6_RECVERR control message
// of the given level and type; nil for any other message or a short one.
func Parse(level, typ int32, d []byte) *Report {
	ipv4 := level == unix.SOL_IP && typ == unix.IP_RECVERR
	ipv6 := level == unix.SOL_IPV6 && typ == unix.IPV6_RECVERR
	if (!ipv4 && !ipv6) || len(d) < sizeofExtendedErr+8 {
		return nil
	}
	r := &Report{Errno: syscall.Errno(binary.NativeEndian.Uint32(d[0:4])), Origin: d[4], Type: d[5], Code: d[6],
		Info: binary.NativeEndian.Uint32(d[8:12])}
	sa := d[sizeofExtendedErr:]
	switch binary.NativeEndian.Uint16(sa[0:2]) {
	case unix.AF_INET:
		r.From = netip.AddrFrom4([4]byte(sa[4:8]))
	case unix.AF_INET6:
		if len(sa) < 24 {
			return nil
		}
		r.From = netip.AddrFrom16([16]byte(sa[8:24])).Unmap()
	}
	return r
}
