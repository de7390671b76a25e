// Package recverr reads what a socket's error queue says about an ICMP
// error (IP_RECVERR, IPV6_RECVERR): which error, the message's type and
// code, the MTU a "fragmentation needed" or "packet too big" carries, and
// who sent it. smile-client's TCP dial and the datagram measurements of
// package dgram read the queue through it, so a refusal, an unreachable
// hop and a path MTU are named the same way everywhere (docs/router.md,
// "Who answered"; docs/datagrams.md).
package recverr

import (
	"net/netip"
	"syscall"
)

// Origins of a queued error (SO_EE_ORIGIN_*): the host's own stack, or an
// ICMP / ICMPv6 message from elsewhere.
const (
	OriginLocal = 1
	OriginICMP  = 2
	OriginICMP6 = 3
)

// Report is one error off the queue.
type Report struct {
	Errno  syscall.Errno // the error the socket was given
	Origin uint8         // OriginLocal, OriginICMP or OriginICMP6
	Type   uint8         // the ICMP message's type
	Code   uint8         // and code
	Info   uint32        // the MTU, for "fragmentation needed" / "packet too big" and local EMSGSIZE
	From   netip.Addr    // who sent it (SO_EE_OFFENDER), unmapped; invalid for a local error
}

// ICMP reports whether the error came from an ICMP or ICMPv6 message.
func (r *Report) ICMP() bool { return r.Origin == OriginICMP || r.Origin == OriginICMP6 }

// TooBig reports an ICMP "fragmentation needed" (type 3 code 4) or
// ICMPv6 "packet too big" (type 2): Info is then the next hop's MTU.
func (r *Report) TooBig() bool {
	return (r.Origin == OriginICMP && r.Type == 3 && r.Code == 4) || (r.Origin == OriginICMP6 && r.Type == 2)
}
