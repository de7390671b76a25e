package client

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/smile-sockets/smile/internal/recverr"
)

// icmpError is a connect that an ICMP or ICMPv6 error ended, with what the
// error said and who sent it, as the kernel's error queue reports them
// (IP_RECVERR, IPV6_RECVERR: see docs/router.md, "Who answered"). It
// unwraps to the errno the kernel gave the socket, so it has the class of
// that errno.
type icmpError struct {
	err       error      // the connect's error, an errno in an *os.SyscallError
	v6        bool       // ICMPv6
	typ, code uint8      // the ICMP message's type and code
	from      netip.Addr // who sent it: the offender
	dst       netip.Addr // the address dialled
	local     netip.Addr // the socket's own address
}

// icmpErrorOf is the icmpError of a report from the error queue, for a
// socket whose op (connect, recvmsg) failed with it, sent to dst.
func icmpErrorOf(r *recverr.Report, op string, dst netip.Addr) *icmpError {
	return &icmpError{err: os.NewSyscallError(op, r.Errno), v6: r.Origin == recverr.OriginICMP6,
		typ: r.Type, code: r.Code, from: r.From, dst: dst}
}

func (e *icmpError) Error() string { return e.err.Error() + " (" + e.words() + ")" }

func (e *icmpError) Unwrap() error { return e.err }

// ICMP and ICMPv6 types and codes the words tell apart (RFC 792, RFC 1812,
// RFC 4443).
const (
	icmpUnreachable  = 3
	icmpTimeExceeded = 11
	icmp6Unreachable = 1
	icmp6TimeExceed  = 3
)

// words say what the message means and who sent it:
// "prohibited by a firewall at 198.51.100.1 (on the way)".
func (e *icmpError) words() string {
	what, by := "", ", reported by "
	switch {
	case !e.v6 && e.typ == icmpUnreachable:
		switch e.code {
		case 0:
			what = "network unreachable"
		case 1:
			what = "host unreachable"
		case 2:
			what = "protocol unreachable"
		case 3:
			what = "port unreachable"
		case 9, 10, 13: // network, host, communication administratively prohibited
			what, by = "prohibited by a firewall", " at "
		}
	case !e.v6 && e.typ == icmpTimeExceeded:
		what, by = "TTL exceeded", " at "
	case e.v6 && e.typ == icmp6Unreachable:
		switch e.code {
		case 0:
			what = "network unreachable"
		case 1, 5, 6: // administratively prohibited, source address failed policy, reject route
			what, by = "prohibited by a firewall", " at "
		case 3:
			what = "host unreachable"
		case 4:
			what = "port unreachable"
		}
	case e.v6 && e.typ == icmp6TimeExceed:
		what, by = "hop limit exceeded", " at "
	}
	if what == "" {
		kind := "ICMP"
		if e.v6 {
			kind = "ICMPv6"
		}
		what, by = fmt.Sprintf("%s type %d code %d", kind, e.typ, e.code), " from "
	}
	switch e.from {
	case e.dst:
		return what + by + e.from.String() + " (the server itself)"
	case e.local:
		// The client's own kernel: ARP or neighbour discovery for the
		// next hop went unanswered, or a route of its own rejects.
		return what + by + "this host"
	}
	return what + by + e.from.String() + " (on the way)"
}
