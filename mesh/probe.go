package mesh

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Run runs rounds until ctx is done. Rounds are Interval apart, give or
// take a tenth at random, and the first starts within a tenth of an
// interval: nodes started together drift apart instead of greeting each
// other in step, which would inflate each other's latencies.
func (m *Mesh) Run(ctx context.Context) {
	m.seedPeers(ctx)
	learning := make(chan struct{})
	go func() { defer close(learning); m.learnLoop(ctx) }()
	defer func() { <-learning }()
	wait := jitter(m.o.Interval) / 10
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		start := time.Now()
		m.runRound(ctx)
		wait = max(jitter(m.o.Interval)-time.Since(start), 0)
	}
}

// jitter is d scaled by a random factor in [0.9, 1.1).
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
}

// runRound looks the peers up and greets this round's share of them.
func (m *Mesh) runRound(ctx context.Context) {
	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	found, derr := discover(lctx, m.o.Resolver, m.o.Entries)
	cancel()
	full := m.listed.refused
	peers, dropped := m.listed.update(start, found)
	m.setPeers(peers)
	if m.listed.refused > 0 && full == 0 {
		m.log.Warn(fmt.Sprintf("mesh peer set full: %d addresses; %d more that %s lists are left out until some are dropped", maxPeerSet, m.listed.refused, m.o.Spec),
			"mesh", m.o.Spec, "peers", len(peers), "left_out", m.listed.refused)
	}

	m.mu.Lock()
	m.peers = peers
	was := m.discoveryErr
	m.discoveryErr = ""
	if derr != nil {
		m.discoveryErr = derr.Error()
	}
	now := m.discoveryErr
	for _, a := range dropped {
		delete(m.cells, a)
		delete(m.owners, a)
		delete(m.claims, a)
	}
	round := m.round + 1
	m.mu.Unlock()
	// Logged when it changes, not every round.
	switch {
	case now != "" && now != was:
		m.log.Warn("mesh lookup failed", "mesh", m.o.Spec, "err", derr, "peers", len(peers))
	case now == "" && was != "":
		m.log.Info(fmt.Sprintf("mesh lookup of %s ok again, peer addresses: %d", m.o.Spec, len(peers)), "mesh", m.o.Spec, "peers", len(peers))
	}
	for _, a := range dropped {
		m.log.Info(fmt.Sprintf("mesh peer %s dropped: unlisted for longer than -mesh-grace %v", a, m.o.Grace),
			"address", a.String(), "grace", m.o.Grace)
	}

	targets := pick(peers, m.o.MaxPeers, round-1, m.offset)
	m.probeAll(ctx, targets, round)
	select { // learnt beside the rounds, never holding one up
	case m.toLearn <- learnJob{targets, round}:
	default: // still learning from an earlier round: this round's turn comes again
	}

	m.mu.Lock()
	m.round = round
	m.roundTook = time.Since(start)
	m.roundAt = time.Now()
	m.mu.Unlock()
}

// learnJob is a round's probed addresses, whose owners learnLoop learns.
type learnJob struct {
	probed []netip.AddrPort
	round  uint64
}

// learnLoop learns the owners of each round's probed addresses in a
// goroutine of its own: peers whose -http port is slow or deaf slow this
// down, never the rounds, which keep their interval.
func (m *Mesh) learnLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-m.toLearn:
			m.learnOwners(ctx, j.probed, j.round)
		}
	}
}

// probeAll greets targets, concurrency at a time, and records each.
func (m *Mesh) probeAll(ctx context.Context, targets []netip.AddrPort, round uint64) {
	next := make(chan netip.AddrPort)
	var wg sync.WaitGroup
	for range min(concurrency, len(targets)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 512)
			for a := range next {
				m.probe(ctx, a, round, buf)
			}
		}()
	}
	for _, a := range targets {
		select {
		case next <- a:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
}

// probe greets one address over its own family, within -mesh-timeout.
func (m *Mesh) probe(ctx context.Context, a netip.AddrPort, round uint64, buf []byte) {
	if ctx.Err() != nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	var series chan udpResult
	if !m.o.NoUDP { // the datagrams beside the greeting, within the same -mesh-timeout
		series = make(chan udpResult, 1)
		go func() { series <- m.sendDatagrams(pctx, a) }()
	}
	g := m.greeter.Greet(pctx, a, buf)
	var udp udpResult
	if series != nil {
		udp = <-series
	}
	cancel()
	if ctx.Err() != nil {
		return // stopping: the cancellation is ours, not the path's
	}
	if series != nil {
		m.mu.Lock()
		due := m.cells[a].pmtuDue(g.Class != "" && g.Connected, udp.received > 0)
		m.mu.Unlock()
		if due {
			p, err := m.searchPMTU(ctx, a)
			udp.pmtu, udp.pmtuErr = &p, err
		}
		if ctx.Err() != nil {
			return
		}
	}
	class := g.Class
	if class == "" {
		class = "ok"
	}
	m.latency.WithLabelValues(g.Family, class).Observe(g.Total.Seconds())
	m.probes.WithLabelValues(g.Family, class).Inc()

	now := time.Now()
	m.mu.Lock()
	c, ok := m.cells[a]
	if !ok {
		if !m.inPeers(a) {
			m.mu.Unlock()
			return // dropped while being probed
		}
		c = &cell{addr: a}
		m.cells[a] = c
	}
	was := c.class
	first := c.round == 0
	c.record(now, round, g.Class, g.Error, g.Total, familyOf(a))
	if !m.o.NoUDP {
		c.recordUDP(udp, round)
	}
	m.mu.Unlock()
	if (first && g.Class != "") || (!first && was != g.Class) {
		if g.Class == "" {
			// Info lines of the text log are the message alone: it says all.
			m.log.Info(fmt.Sprintf("mesh path ok again: %s over %s (was %s)", a, familyOf(a), was),
				"address", a.String(), "family", familyOf(a), "was", was)
		} else {
			m.log.Warn("mesh path failing", "address", a.String(), "family", familyOf(a), "class", g.Class, "err", g.Error)
		}
	}
}

// inPeers reports a in the current peer set; m.mu is held.
func (m *Mesh) inPeers(a netip.AddrPort) bool {
	_, found := slices.BinarySearchFunc(m.peers, a, func(x, t netip.AddrPort) int { return x.Compare(t) })
	return found
}
