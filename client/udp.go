package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/smile-sockets/smile/dgram"
)

// defaultUDPSize is -size's default: above any usual greeting (the server
// answers no request shorter than its greeting: docs/datagrams.md) and
// within IPv4's 576-byte minimum MTU once the 28 bytes of IP and UDP
// headers are added, so it is never fragmented.
const defaultUDPSize = 512

// defaultUDPInterval paces a series when -interval is not given: sent
// back to back, a few thousand probes overflow the sockets' and queues'
// buffers on the way, and the loss measured would be theirs, not the
// path's (measured: 81 % of 2,000 back-to-back probes lost through a
// router that dropped none, in docs/datagrams.md's namespaces).
const defaultUDPInterval = time.Millisecond

// checkUDP refuses the datagram flags that make no sense together: a
// one-line error each, exit 2.
func checkUDP(cfg *Config) error {
	if cfg.PMTU {
		cfg.UDP = true
	}
	switch {
	case !cfg.UDP && cfg.Size != defaultUDPSize:
		return fmt.Errorf("-size %d without -udp: only datagrams have a size to set", cfg.Size)
	case !cfg.UDP:
		return nil
	case cfg.Size < dgram.HeaderLen || cfg.Size > dgram.MaxPayload:
		return fmt.Errorf("bad -size %d: a datagram of %d to %d bytes", cfg.Size, dgram.HeaderLen, dgram.MaxPayload)
	case cfg.PMTU && cfg.Count > 1:
		return errors.New("give -pmtu or -count, not both: the path MTU search sends datagrams of its own sizes")
	case cfg.PMTU && cfg.Size != defaultUDPSize:
		return errors.New("give -pmtu or -size, not both: the path MTU search sends datagrams of its own sizes")
	case cfg.Concurrency > 1:
		return fmt.Errorf("-udp with -concurrency %d: a datagram series is one flow, its loss and order counted in sequence", cfg.Concurrency)
	}
	if cfg.Interval == 0 {
		cfg.Interval = defaultUDPInterval
	}
	if cfg.HasExpect && len(cfg.Expect) > cfg.Size {
		cfg.Size = len(cfg.Expect) // a request at least as long as the greeting wanted
	}
	return nil
}

// udpResult is one target's datagram run: a greeting, a series (-count)
// or a path MTU search (-pmtu).
type udpResult struct {
	target  string // as asked: host:port
	addr    string // the address datagrams went to
	family  string // IPv4 or IPv6, when an address was found
	data    []byte // the greeting
	ttl     int    // the greeting's TTL (hop limit), -1 unknown
	rtt     time.Duration
	series  *dgram.Series
	pmtu    *dgram.PMTU
	class   string // "" when it succeeded
	err     error
	phase   string // resolve, connect, read, expect
	took    time.Duration
	timeout time.Duration // how long answers were awaited, for the message
}

// ok: the greeting came (and matched -expect), or some of the series was
// answered, or the search found a path MTU with no black hole.
func (r *udpResult) ok() bool { return r.class == "" }

// udpProbe resolves target, takes its first address in the dialer's order
// (-each takes every one) and runs the datagram mode cfg asks for.
func (p *prober) udpProbe(ctx context.Context, target, network string) (r udpResult) {
	start := time.Now()
	r = udpResult{target: target, ttl: -1, timeout: p.cfg.ReadTimeout}
	defer func() { r.took = time.Since(start) }()
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		r.err, r.class, r.phase = err, classOther, "resolve"
		return r
	}
	lctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	addrs, err := p.lookup(lctx, host, network)
	cancel()
	if err != nil {
		r.err, r.class, r.phase = err, classify(err), "resolve"
		return r
	}
	pn, _ := net.LookupPort("udp", port) // checked by the parser
	dst := netip.AddrPortFrom(interleave(addrs)[0], uint16(pn))
	r.addr, r.family = dst.String(), "IPv6"
	if dst.Addr().Is4() {
		r.family = "IPv4"
	}
	conn, err := dgram.Dial(ctx, dst)
	if err != nil {
		r.err, r.class, r.phase = err, classify(err), "connect"
		return r
	}
	defer func() { _ = conn.Close() }()
	switch {
	case p.cfg.PMTU:
		res, err := dgram.FindPMTU(ctx, conn, dgram.PMTUOptions{Wait: min(time.Second, p.cfg.ReadTimeout)})
		r.pmtu = &res
		switch {
		case err != nil:
			r.pmtu = nil
			r.fail(err, "read")
		case res.BlackHole:
			r.class, r.phase = classBlackHole, "read"
		}
	case p.cfg.Count > 1:
		s := dgram.RunSeries(ctx, conn, dgram.SeriesOptions{Count: p.cfg.Count, Interval: p.cfg.Interval,
			Size: p.cfg.Size, Wait: p.cfg.ReadTimeout})
		r.series = &s
		if s.Received == 0 {
			err := s.Err
			if err == nil {
				err = &net.OpError{Op: "read", Net: "udp", Addr: net.UDPAddrFromAddrPort(dst), Err: errNoAnswer}
			}
			r.fail(err, "read")
		}
	default:
		data, ttl, rtt, truncated, err := conn.Greet(p.cfg.Size, p.cfg.MaxBytes, time.Now().Add(p.cfg.ReadTimeout))
		r.data, r.ttl, r.rtt = data, ttl, rtt
		switch {
		case err != nil:
			r.fail(err, "read")
		case truncated:
			r.err, r.class, r.phase = fmt.Errorf("%w: more than %d bytes (-max-bytes)", errTooLarge, p.cfg.MaxBytes), classTooLarge, "read"
		case p.cfg.HasExpect && string(data) != p.cfg.Expect:
			r.err = fmt.Errorf("got %s, want %s", quoteShort(data), quoteShort([]byte(p.cfg.Expect)))
			r.class, r.phase = classMismatch, "expect"
		}
	}
	return r
}

// errNoAnswer: a series none of whose datagrams was answered, with no
// ICMP error to say why.
var errNoAnswer = fmt.Errorf("no datagram came back: %w", errTimedOut)

// errTimedOut is a timeout as the classes see it.
var errTimedOut = context.DeadlineExceeded

func (r *udpResult) fail(err error, phase string) {
	r.err, r.class, r.phase = err, classify(err), phase
}

// message is the one-line error of a failed datagram run: "no answer over
// UDP from 127.0.0.1:7890: refused: port unreachable, reported by
// 127.0.0.1 (the server itself)".
func (r *udpResult) message() string {
	where := r.target
	if r.addr != "" && r.addr != r.target {
		where += " (" + r.addr + ")"
	}
	switch {
	case r.phase == "resolve":
		host, _, _ := net.SplitHostPort(r.target)
		return ResolveError(host, r.err)
	case r.class == classBlackHole:
		return fmt.Sprintf("path MTU to %s: %s", where, blackHoleText(r.pmtu))
	case r.phase == "expect":
		return fmt.Sprintf("unexpected greeting over UDP from %s: %s", where, classText(r.class, r.err))
	case r.class == classTooLarge:
		return fmt.Sprintf("can't read the greeting over UDP from %s: %s", where, classText(r.class, r.err))
	}
	return fmt.Sprintf("no answer over UDP from %s: %s", where, r.causeText())
}

// causeText is the class with what the error queue said, or how long
// nothing came.
func (r *udpResult) causeText() string {
	var pe *dgram.PathError
	if errors.As(r.err, &pe) && pe.Report.ICMP() {
		dst, _ := netip.ParseAddrPort(r.addr)
		return r.class + ": " + icmpErrorOf(&pe.Report, "recvmsg", dst.Addr()).words()
	}
	if r.class == classTimeout {
		return fmt.Sprintf("%s: nothing came back within %v (-read-timeout)", r.class, r.timeout)
	}
	return classText(r.class, r.err)
}

// blackHoleText says what the silence showed: "black hole: 1281-byte
// datagrams lost with no ICMP; 1280 cross".
func blackHoleText(m *dgram.PMTU) string {
	return fmt.Sprintf("black hole: %d-byte datagrams lost with no ICMP; %d cross", m.LostSize, m.PathMTU)
}
