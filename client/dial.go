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

func (a *attempt) family() string {
	if a.addr.Addr().Is4() {
		return "IPv4"
	}
	return "IPv6"
}

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
	if len(attempts) == 1 {
		conn, err := p.dialOne(ctx, &attempts[0], start)
		return conn, attempts, err
	}

	type done struct {
		i    int
		conn net.Conn
		err  error
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
			p.say("%s dialling %s over %s", since(start), a.target(), a.family())
		}
		go func() {
			conn, err := dialTCP(actx, a.network(), a.addr)
			results <- done{i, conn, err}
		}()
	}
	launch()
	timer := time.NewTimer(fallbackDelay)
	defer timer.Stop()
	var won net.Conn
	for running > 0 {
		select {
		case <-timer.C:
			// Once an address has connected, the attempts still running
			// are being cancelled: start no other.
			if won == nil && next < len(attempts) {
				if p.vout != nil {
					p.say("%s no answer from %s after %v: also dialling the next address (fallback)", since(start), attempts[next-1].target(), fallbackDelay)
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
			case d.err == nil && won == nil:
				won, a.state = d.conn, "connected"
				if p.vout != nil {
					p.say("%s connected to %s over %s", since(start), a.target(), a.family())
				}
				for j := range attempts {
					if attempts[j].state == "running" {
						cancels[j]() // their results still arrive and are closed below
						if p.vout != nil {
							p.say("%s abandoning %s: %s connected first", since(start), attempts[j].target(), a.target())
						}
					}
				}
			case d.err == nil:
				_ = d.conn.Close() // connected too late: another attempt won
				a.state = "abandoned"
			case won != nil:
				a.state = "abandoned"
			default:
				a.err, a.class, a.state = d.err, classify(d.err), "failed"
				if p.vout != nil {
					p.say("%s %s: %s", since(start), a.target(), classText(a.class, d.err))
				}
				if next < len(attempts) && ctx.Err() == nil {
					launch()
					timer.Reset(fallbackDelay)
				}
			}
		}
	}
	if won != nil {
		return won, attempts, nil
	}
	for i := range attempts {
		if attempts[i].state == "failed" {
			return nil, attempts, attempts[i].err
		}
	}
	return nil, attempts, ctx.Err()
}

// dialOne is dial for a target with one address, an IP literal or a name
// with one record: nothing to race, so the attempt runs here, without the
// goroutine, channel and fallback timer per probe that cost the load mode
// (-count) a tenth of its rate.
func (p *prober) dialOne(ctx context.Context, a *attempt, start time.Time) (net.Conn, error) {
	a.start, a.state = time.Since(start), "running"
	if p.vout != nil {
		p.say("%s dialling %s over %s", since(start), a.target(), a.family())
	}
	conn, err := dialTCP(ctx, a.network(), a.addr)
	a.took = time.Since(start) - a.start
	if err != nil {
		a.err, a.class, a.state = err, classify(err), "failed"
		if p.vout != nil {
			p.say("%s %s: %s", since(start), a.target(), classText(a.class, err))
		}
		return nil, err
	}
	a.state = "connected"
	if p.vout != nil {
		p.say("%s connected to %s over %s", since(start), a.target(), a.family())
	}
	return conn, nil
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
