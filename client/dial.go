package client

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/smile-sockets/smile/internal/netaddr"
)

// fallbackDelay is how long an attempt may go unanswered before the next
// address is dialled alongside it: RFC 8305's Connection Attempt Delay,
// with the 300 ms Go's own dialer waits before its fallback family.
const fallbackDelay = 300 * time.Millisecond

// attempt is one address's connection attempt within a probe: when it
// started, how it ended. The client dials the addresses itself (rather
// than through net.Dialer, which keeps only the first error) so that a
// failure can name every address with its own class.
type attempt struct {
	addr  netip.AddrPort
	start time.Duration // since the probe started
	took  time.Duration
	err   error  // nil when it connected or was never made
	class string // the failure's class; "" when it connected
	state string // "running", "connected", "failed", "abandoned" (another won), "not tried"
}

func (a *attempt) target() string { return a.addr.String() }

// network is the attempt's network for net.Dialer.
func (a *attempt) network() string {
	if a.addr.Addr().Is4() {
		return "tcp4"
	}
	return "tcp6"
}

func (a *attempt) family() string { return familyName(a.addr.Addr()) }

// outcome is the attempt's class, or what became of it when it has none.
func (a *attempt) outcome() string {
	if a.state == "failed" {
		return a.class
	}
	return a.state
}

// dial connects to target over network within -timeout: it resolves a
// name to its addresses (only A or AAAA with tcp4/tcp6), orders them as
// RFC 8305 does (the first family the resolver gave, then alternating
// families), starts the next attempt when one fails or has gone
// fallbackDelay without an answer, keeps the first connection and
// abandons the rest. It returns every attempt with its outcome.
func (p *prober) dial(ctx context.Context, target, network string, start time.Time) (net.Conn, []attempt, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return nil, nil, err
	}
	addrs, err := p.lookup(ctx, host, network)
	if err != nil {
		return nil, nil, err
	}
	if p.vout != nil && !isLiteral(host) {
		p.say("%s resolved %s to %s", since(start), host, joinAddrs(addrs))
	}
	pn, err := netaddr.ParsePort(port)
	if err != nil {
		return nil, nil, err
	}
	attempts := make([]attempt, len(addrs))
	for i, a := range interleave(addrs) {
		attempts[i] = attempt{addr: netip.AddrPortFrom(a, uint16(pn)), state: "not tried"}
	}
	conn, err := race(ctx, p, attempts, start, tcpWords,
		func(actx context.Context, a *attempt) (net.Conn, error) { return dialTCP(actx, a.network(), a.addr) },
		func(c net.Conn) { _ = c.Close() })
	return conn, attempts, err
}

// raceWords are what -v and the attempts' outcomes call trying an address
// and its success: a TCP attempt dials and connects, a datagram is sent
// and answered.
type raceWords struct {
	try   string // "dialling"
	won   string // the winner's state: "connected"
	wonBy string // "connected to"
	// failed is what -v says of a failed attempt's cause.
	failed func(a *attempt) string
}

var tcpWords = raceWords{try: "dialling", won: "connected", wonBy: "connected to",
	failed: func(a *attempt) string { return classText(a.class, a.err) }}

// race tries attempts in order within ctx, as RFC 8305 does: the next
// starts when one fails or has gone fallbackDelay without success, the
// first success is kept (returned) and the attempts still running are
// cancelled, their late successes given to discard. Each attempt keeps its
// outcome; the error is the first failure's, or ctx's when none failed.
func race[T any](ctx context.Context, p *prober, attempts []attempt, start time.Time, w raceWords,
	try func(context.Context, *attempt) (T, error), discard func(T)) (T, error) {
	if len(attempts) == 1 {
		return raceOne(ctx, p, &attempts[0], start, w, try)
	}
	type done struct {
		i   int
		v   T
		err error
	}
	results := make(chan done, len(attempts))
	cancels := make([]context.CancelFunc, len(attempts))
	next, running := 0, 0
	launch := func() {
		i := next
		next++
		running++
		a := &attempts[i]
		a.start, a.state = time.Since(start), "running"
		actx, acancel := context.WithCancel(ctx)
		cancels[i] = acancel
		if p.vout != nil {
			p.say("%s %s %s over %s", since(start), w.try, a.target(), a.family())
		}
		go func() {
			v, err := try(actx, a)
			results <- done{i, v, err}
		}()
	}
	launch()
	timer := time.NewTimer(fallbackDelay)
	defer timer.Stop()
	var won T
	winner := -1
	for running > 0 {
		select {
		case <-timer.C:
			// Once an address has succeeded, the attempts still running
			// are being cancelled: start no other.
			if winner < 0 && next < len(attempts) {
				if p.vout != nil {
					p.say("%s no answer from %s after %v: also %s the next address (fallback)", since(start), attempts[next-1].target(), fallbackDelay, w.try)
				}
				launch()
				timer.Reset(fallbackDelay)
			}
		case d := <-results:
			running--
			a := &attempts[d.i]
			a.took = time.Since(start) - a.start
			cancels[d.i]()
			switch {
			case d.err == nil && winner < 0:
				won, winner, a.state = d.v, d.i, w.won
				if p.vout != nil {
					p.say("%s %s %s over %s", since(start), w.wonBy, a.target(), a.family())
				}
				for j := range attempts {
					if attempts[j].state == "running" {
						cancels[j]() // their results still arrive and are discarded below
						if p.vout != nil {
							p.say("%s abandoning %s: %s %s first", since(start), attempts[j].target(), a.target(), w.won)
						}
					}
				}
			case d.err == nil:
				discard(d.v) // succeeded too late: another attempt won
				a.state = "abandoned"
			case winner >= 0:
				a.state = "abandoned"
			default:
				a.err, a.class, a.state = d.err, classify(d.err), "failed"
				if p.vout != nil {
					p.say("%s %s: %s", since(start), a.target(), w.failed(a))
				}
				if next < len(attempts) && ctx.Err() == nil {
					launch()
					timer.Reset(fallbackDelay)
				}
			}
		}
	}
	if winner >= 0 {
		return won, nil
	}
	var zero T
	for i := range attempts {
		if attempts[i].state == "failed" {
			return zero, attempts[i].err
		}
	}
	return zero, ctx.Err()
}

// raceOne is race for a target with one address, an IP literal or a name
// with one record: nothing to race, so the attempt runs here, without the
// goroutine, channel and fallback timer per probe that cost the load mode
// (-count) a tenth of its rate.
func raceOne[T any](ctx context.Context, p *prober, a *attempt, start time.Time, w raceWords,
	try func(context.Context, *attempt) (T, error)) (T, error) {
	a.start, a.state = time.Since(start), "running"
	if p.vout != nil {
		p.say("%s %s %s over %s", since(start), w.try, a.target(), a.family())
	}
	v, err := try(ctx, a)
	a.took = time.Since(start) - a.start
	if err != nil {
		a.err, a.class, a.state = err, classify(err), "failed"
		if p.vout != nil {
			p.say("%s %s: %s", since(start), a.target(), w.failed(a))
		}
		return v, err
	}
	a.state = w.won
	if p.vout != nil {
		p.say("%s %s %s over %s", since(start), w.wonBy, a.target(), a.family())
	}
	return v, nil
}

// lookup returns the addresses of host: the address itself for a literal,
// else the resolver's A and AAAA records (only one kind for tcp4/tcp6),
// IPv4-mapped ones unmapped and duplicates dropped.
func (p *prober) lookup(ctx context.Context, host, network string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	ipnet := map[string]string{"tcp": "ip", "tcp4": "ip4", "tcp6": "ip6"}[network]
	found, err := p.res.LookupNetIP(ctx, ipnet, host)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	for _, a := range netaddr.Unique(found) {
		if (network == "tcp4" && a.Is4()) || (network == "tcp6" && !a.Is4()) || network == "tcp" {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no suitable address", Name: host, IsNotFound: true}
	}
	return addrs, nil
}

// interleave orders addresses as RFC 8305 section 4 does: the resolver's
// first address, then alternately the other family and the first one,
// each family in the resolver's order.
func interleave(addrs []netip.Addr) []netip.Addr {
	var first, other []netip.Addr
	for _, a := range addrs {
		if a.Is4() == addrs[0].Is4() {
			first = append(first, a)
		} else {
			other = append(other, a)
		}
	}
	out := make([]netip.Addr, 0, len(addrs))
	for i := 0; len(out) < len(addrs); i++ {
		if i < len(first) {
			out = append(out, first[i])
		}
		if i < len(other) {
			out = append(out, other[i])
		}
	}
	return out
}

func isLiteral(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// since is the -v timestamp: time since the probe started.
func since(start time.Time) string {
	return fmt.Sprintf("+%.1fms", float64(time.Since(start).Microseconds())/1000)
}

// attemptsText names every address with its outcome, in the order they
// were tried: "172.31.251.10:7890 unreachable, [fd5a:bee1::10]:7890 timeout".
func attemptsText(attempts []attempt) string {
	parts := make([]string, len(attempts))
	for i := range attempts {
		parts[i] = attempts[i].target() + " " + attempts[i].outcome()
	}
	return strings.Join(parts, ", ")
}
