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
	addr    string // the address that answered, or the one datagrams went to
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
	// attempts are a greeting's addresses in the order tried, each with
	// its outcome (a series or a search has none: one address).
	attempts []attempt
}

// ok: the greeting came (and matched -expect), or some of the series was
// answered, or the search found a path MTU with no black hole.
func (r *udpResult) ok() bool { return r.class == "" }

// udpProbe resolves target and runs the datagram mode cfg asks for. A
// greeting tries the name's addresses in the dialer's order, the next
// when one reports an ICMP failure or has been silent for fallbackDelay,
// all within -read-timeout, and keeps the first answer (greetByName); a
// series (-count) or a path MTU search (-pmtu) measures one path and
// names it, the first address's (-each takes every one).
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
	if p.vout != nil && !isLiteral(host) {
		p.say("%s resolved %s to %s", since(start), host, joinAddrs(addrs))
	}
	pn, _ := net.LookupPort("udp", port) // checked by the parser
	if !p.cfg.PMTU && p.cfg.Count <= 1 {
		p.greetByName(ctx, &r, interleave(addrs), uint16(pn), start)
		return r
	}
	dst := netip.AddrPortFrom(interleave(addrs)[0], uint16(pn))
	r.addr, r.family = dst.String(), familyName(dst.Addr())
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
	default:
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
	}
	return r
}

// udpGreeting is one address's answer to a greeting request.
type udpGreeting struct {
	data      []byte
	ttl       int
	rtt       time.Duration
	truncated bool
}

// udpWords name a datagram attempt's steps for -v and its outcome.
var udpWords = raceWords{try: "sending to", won: "answered", wonBy: "answer from",
	failed: func(a *attempt) string { return icmpCauseText(a.class, a.err, a.addr.Addr()) }}

// greetByName greets over a datagram, trying addrs as the TCP dialer
// tries a name's addresses (race): an error on an address's socket (an
// ICMP port, host or network unreachable off its error queue) ends that
// address's attempt and starts the next at once, and silence for
// fallbackDelay starts the next beside it, as a SYN unanswered does. The
// whole name is awaited for -read-timeout, the bound of one address's
// greeting, so a name with one address waits exactly as an IP literal.
func (p *prober) greetByName(ctx context.Context, r *udpResult, addrs []netip.Addr, port uint16, start time.Time) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ReadTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	r.attempts = make([]attempt, len(addrs))
	for i, a := range addrs {
		r.attempts[i] = attempt{addr: netip.AddrPortFrom(a, port), state: "not tried"}
	}
	g, err := race(ctx, p, r.attempts, start, udpWords, func(actx context.Context, a *attempt) (udpGreeting, error) {
		conn, err := dgram.Dial(actx, a.addr)
		if err != nil {
			return udpGreeting{}, &dialError{err}
		}
		defer func() { _ = conn.Close() }()
		stop := context.AfterFunc(actx, func() { _ = conn.Close() }) // abandoned: another answered
		defer stop()
		var g udpGreeting
		g.data, g.ttl, g.rtt, g.truncated, err = conn.Greet(p.cfg.Size, p.cfg.MaxBytes, deadline)
		if err != nil && actx.Err() != nil {
			err = actx.Err() // closed by the AfterFunc, not by the path
		}
		return g, err
	}, func(udpGreeting) {})
	r.family = r.attempts[0].family()
	if len(r.attempts) == 1 {
		r.addr = r.attempts[0].target()
	}
	for i := range r.attempts {
		if r.attempts[i].state == udpWords.won {
			r.addr, r.family = r.attempts[i].target(), r.attempts[i].family()
		}
	}
	r.data, r.ttl, r.rtt = g.data, g.ttl, g.rtt
	var de *dialError
	switch {
	case errors.As(err, &de):
		r.fail(de.err, "connect")
	case err != nil:
		r.fail(err, "read")
	case g.truncated:
		r.err, r.class, r.phase = fmt.Errorf("%w: more than %d bytes (-max-bytes)", errTooLarge, p.cfg.MaxBytes), classTooLarge, "read"
	case p.cfg.HasExpect && string(g.data) != p.cfg.Expect:
		r.err = fmt.Errorf("got %s, want %s", quoteShort(g.data), quoteShort([]byte(p.cfg.Expect)))
		r.class, r.phase = classMismatch, "expect"
	}
}

// dialError is a socket that could not be connected to its address (no
// route, no local address of the family): stage connect, not read.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// familyName is a's family as the dialer names it.
func familyName(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
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
	case (r.phase == "read" || r.phase == "connect") && r.data == nil && len(r.attempts) > 1:
		return fmt.Sprintf("no answer over UDP from %s: %s", r.target, attemptsText(r.attempts))
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
	if r.class == classTimeout {
		return fmt.Sprintf("%s: nothing came back within %v (-read-timeout)", r.class, r.timeout)
	}
	dst, _ := netip.ParseAddrPort(r.addr)
	return icmpCauseText(r.class, r.err, dst.Addr())
}

// icmpCauseText is class with what the error queue said of err, a
// datagram's to dst: the ICMP message and who sent it, when it said so.
func icmpCauseText(class string, err error, dst netip.Addr) string {
	var pe *dgram.PathError
	if errors.As(err, &pe) && pe.Report.ICMP() {
		return class + ": " + icmpErrorOf(&pe.Report, "recvmsg", dst).words()
	}
	return classText(class, err)
}

// blackHoleText says what the silence showed: "black hole: 1281-byte
// datagrams lost with no ICMP; 1280 cross".
func blackHoleText(m *dgram.PMTU) string {
	return fmt.Sprintf("black hole: %d-byte datagrams lost with no ICMP; %d cross", m.LostSize, m.PathMTU)
}
