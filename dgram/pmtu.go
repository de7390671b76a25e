package dgram

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// MinMTU is the smallest MTU a family's links must carry, where the path
// MTU search starts: 576 bytes for IPv4 (RFC 1122's datagram every host
// must accept), 1,280 for IPv6 (RFC 8200).
func MinMTU(ipv6 bool) int {
	if ipv6 {
		return 1280
	}
	return 576
}

// Overhead is the IP and UDP headers' bytes around a datagram's payload
// (no IP options, no extension headers): a packet of size S carries
// S - Overhead bytes of probe.
func Overhead(ipv6 bool) int {
	if ipv6 {
		return 40 + 8
	}
	return 20 + 8
}

// maxPacket is the largest IP packet the search tries: IPv4's total
// length field's limit, loopback's 65,536-byte MTU notwithstanding.
const maxPacket = 65535

// PMTUOptions bound the search; a zero field takes its default.
type PMTUOptions struct {
	Max   int           // the largest packet size tried; 0: the outgoing interface's MTU
	Tries int           // datagrams of one size sent before its silence counts (default 3)
	Wait  time.Duration // the longest wait for one datagram's answer (default 1s)
}

// PMTU is what the search found. Sizes are of whole IP packets, as MTUs
// are.
type PMTU struct {
	PathMTU      int        // the largest size that crossed and was answered
	InterfaceMTU int        // the bound searched from: the outgoing interface's MTU
	ReportedBy   netip.Addr // who sent the last "fragmentation needed" / "packet too big"; invalid if none came
	ReportedMTU  int        // the MTU that message carried
	BlackHole    bool       // a size above PathMTU (and within any reported MTU) was lost with no ICMP
	LostSize     int        // the smallest size lost in silence, when BlackHole
	Sizes        int        // sizes tried
}

// outcome of sending one size.
type outcome int

const (
	crossed outcome = iota // answered
	tooBig                 // an ICMP too-big (or the host's own EMSGSIZE) came back
	silent                 // every try went unanswered, no ICMP
)

// FindPMTU finds the path MTU to c's server with don't-fragment datagrams
// that ask for a header-only answer, so only the forward path is
// measured. It first checks that the family's minimum crosses (an error
// says why not: a timeout, or the ICMP error), tries the interface's MTU,
// then a size a too-big message reported, else halves the range between
// the largest size that crossed and the smallest that did not. A size
// whose datagrams are lost with no ICMP is a black hole's witness.
func FindPMTU(ctx context.Context, c *Conn, o PMTUOptions) (PMTU, error) {
	if o.Tries <= 0 {
		o.Tries = 3
	}
	if o.Wait <= 0 {
		o.Wait = time.Second
	}
	if err := setDontFragment(c); err != nil {
		return PMTU{}, err
	}
	v6 := c.IPv6()
	lo := MinMTU(v6)
	res := PMTU{InterfaceMTU: o.Max}
	if res.InterfaceMTU <= 0 {
		res.InterfaceMTU = interfaceMTU(c)
	}
	res.InterfaceMTU = min(max(res.InterfaceMTU, lo), maxPacket)
	s := &sizer{c: c, o: o, buf: make([]byte, 0, res.InterfaceMTU), rbuf: make([]byte, MaxPayload+1)}
	s.wait = o.Wait
	switch out, err := s.try(ctx, lo, &res); {
	case err != nil:
		return res, err
	case out != crossed:
		return res, &net.OpError{Op: "read", Net: "udp", Addr: net.UDPAddrFromAddrPort(c.Dst()), Err: os.ErrDeadlineExceeded}
	}
	// Answers now have a round trip to go by: wait four, at least 100 ms.
	s.wait = min(o.Wait, max(100*time.Millisecond, 4*s.rtt))
	best, upper, next := lo, res.InterfaceMTU, res.InterfaceMTU
	for best < upper && ctx.Err() == nil {
		out, err := s.try(ctx, next, &res)
		if err != nil {
			return res, err
		}
		switch out {
		case crossed:
			best = next
		case silent:
			upper = next - 1
			if res.LostSize == 0 || next < res.LostSize {
				res.LostSize = next
			}
		case tooBig:
			upper = next - 1
			if m := s.reported; m > 0 && m < upper {
				upper = max(m, best) // nothing above m crosses; best did
			}
		}
		next = (best + upper + 1) / 2
		if m := s.reported; out == tooBig && m > best && m <= upper {
			next = m // the message's figure first: usually the answer
		}
	}
	res.PathMTU = best
	res.BlackHole = res.LostSize > 0
	return res, ctx.Err()
}

// sizer sends datagrams of one size at a time.
type sizer struct {
	c         *Conn
	o         PMTUOptions
	wait      time.Duration
	seq       uint32
	buf, rbuf []byte
	rtt       time.Duration // of the last answer
	reported  int           // the MTU of the last too-big, 0 if none
}

// try sends datagrams of size bytes (a whole IP packet) up to o.Tries
// times and says what came of them. An ICMP error other than too-big ends
// the search with that error.
func (s *sizer) try(ctx context.Context, size int, res *PMTU) (outcome, error) {
	res.Sizes++
	first := s.seq + 1
	for range s.o.Tries {
		s.seq++
		b := Header{Size: HeaderLen, Seq: s.seq, Sent: s.c.now()}.Encode(s.buf, size-Overhead(s.c.IPv6()))
		if err := s.c.Send(b); err != nil {
			if s.tooBig(err, size, res) {
				return tooBig, nil
			}
			return silent, err
		}
		deadline := time.Now().Add(s.wait)
		for ctx.Err() == nil {
			a, _, err := s.c.Recv(s.rbuf, deadline)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				if s.tooBig(err, size, res) {
					return tooBig, nil
				}
				var pe *PathError
				if errors.As(err, &pe) && pe.Report.TooBig() {
					continue // a late one about a larger size
				}
				return silent, err
			}
			if h, err := Decode(a); err == nil && h.Seq >= first && h.Seq <= s.seq {
				s.rtt = s.c.rtt(h.Sent)
				return crossed, nil
			}
		}
	}
	return silent, ctx.Err()
}

// tooBig reports whether err says a datagram of size was too big for the
// path (an ICMP message) or for this host's own interface (EMSGSIZE),
// keeping what it says.
func (s *sizer) tooBig(err error, size int, res *PMTU) bool {
	var pe *PathError
	if errors.As(err, &pe) && pe.Report.TooBig() {
		if int(pe.Report.Info) >= size {
			return false // about a larger datagram sent before
		}
		s.reported = int(pe.Report.Info)
		res.ReportedBy, res.ReportedMTU = pe.Report.From, s.reported
		return true
	}
	if errors.Is(err, syscall.EMSGSIZE) {
		if errors.As(err, &pe) && pe.Report.Info > 0 && int(pe.Report.Info) < size {
			s.reported = int(pe.Report.Info)
		}
		return true
	}
	return false
}

// interfaceMTU is the MTU of the interface that holds c's own address,
// or of the route when no interface says (see pmtu_linux.go).
func interfaceMTU(c *Conn) int {
	local := c.Local().Addr().Unmap()
	ifs, err := net.Interfaces()
	if err == nil {
		for _, want := range []bool{true, false} { // the address itself, then a prefix holding it (127.0.0.2 on lo)
			for _, ifc := range ifs {
				addrs, err := ifc.Addrs()
				if err != nil {
					continue
				}
				for _, a := range addrs {
					n, ok := a.(*net.IPNet)
					if !ok {
						continue
					}
					ip, _ := netip.AddrFromSlice(n.IP)
					if (want && ip.Unmap() == local) || (!want && n.Contains(local.AsSlice())) {
						return ifc.MTU
					}
				}
			}
		}
	}
	return routeMTU(c)
}
