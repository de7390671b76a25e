package server

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mappedSource is the IPV6_PKTINFO control message that makes a
// dual-stack socket send from src, an IPv4 address as ::ffff:a.b.c.d
// (Linux's ip_cmsg_send takes it for an IPv4-mapped peer).
func mappedSource(src netip.Addr) []byte {
	oob := make([]byte, unix.CmsgSpace(unix.SizeofInet6Pktinfo))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
	h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
	pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&oob[unix.CmsgLen(0)]))
	pi.Addr = src.As16()
	return oob
}
