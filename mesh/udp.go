package mesh

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/smile-sockets/smile/dgram"
)

// The datagrams of a round (docs/mesh.md, "Datagrams"): beside each TCP
// greeting a node sends a few probe datagrams to the same address and
// port, paced, and reads loss, round trip and hops from their answers;
// every pmtuEvery-th probe of a destination, at once when its TCP
// greeting failed after the connection was made (the signature of an MTU
// black hole: the handshake's small packets cross, the first full-size
// one does not), and when its datagrams are answered again after a search
// that failed while none were, it also searches the path MTU. A round's cost stays a
// constant number of datagrams per destination: O(K) a round.
const (
	udpCount    = 5                    // probe datagrams per destination a round
	udpInterval = 5 * time.Millisecond // between two of them, so a round's datagrams never leave as one burst
	udpSize     = 64                   // bytes of each probe and of its answer
	pmtuEvery   = 10                   // a destination's path MTU is searched every this many of its probes
	pmtuTries   = 2                    // datagrams of one size before its silence counts
)

// udpResult is what one round's datagrams to a destination found.
type udpResult struct {
	sent, received int
	rtt            time.Duration // the median round trip of the answered ones
	ttl            int           // the last answer's TTL (hop limit), -1 unknown
	pmtu           *dgram.PMTU   // nil: not searched this round
	pmtuErr        error
}

// sendDatagrams sends the round's probe datagrams to a and reads their
// answers until every one is in or ctx (the probe's -mesh-timeout) ends:
// an answer later than that counts as lost.
func (m *Mesh) sendDatagrams(ctx context.Context, a netip.AddrPort) udpResult {
	r := udpResult{sent: udpCount, ttl: -1} // nothing sent: all of it lost
	c, err := dgram.Dial(ctx, a)
	if err != nil {
		return r
	}
	s := dgram.RunSeries(ctx, c, dgram.SeriesOptions{Count: udpCount, Interval: udpInterval, Size: udpSize, Wait: m.o.Timeout,
		StopOnRefused: true})
	_ = c.Close()
	if s.Sent > 0 {
		r.sent = s.Sent
	}
	r.received, r.ttl = s.Received, s.TTL
	if s.Received > 0 {
		r.rtt = s.RTT(50)
	}
	return r
}

// searchPMTU is one path MTU search of a, bounded by half an interval so
// that a black hole's silences cannot hold a round up for long.
func (m *Mesh) searchPMTU(ctx context.Context, a netip.AddrPort) (dgram.PMTU, error) {
	ctx, cancel := context.WithTimeout(ctx, m.o.Interval/2)
	defer cancel()
	c, err := dgram.Dial(ctx, a)
	if err != nil {
		return dgram.PMTU{}, err
	}
	defer c.Close()
	return dgram.FindPMTU(ctx, c, dgram.PMTUOptions{Tries: pmtuTries, Wait: m.o.Timeout})
}

// pmtuDue says whether a destination's probe this round searches the path
// MTU: its first, every pmtuEvery-th after, at once when its TCP greeting
// failed after connecting, and as soon as datagrams are answered again
// after a search that failed while none were (a peer not yet listening
// when the mesh started, or restarting): otherwise its cell would show
// that search's error for pmtuEvery rounds of a working path. m.mu is
// held.
func (c *cell) pmtuDue(tcpFailedAfterConnect, answered bool) bool {
	return c == nil || c.udpProbes%pmtuEvery == 0 || tcpFailedAfterConnect || (c.pmtuFailedSilent && answered)
}

// recordUDP stores a round's datagrams; a path MTU found before stays
// until the next search. m.mu is held.
func (c *cell) recordUDP(r udpResult, round uint64) {
	c.udpProbes++
	c.udpSent, c.udpReceived, c.udpRTT, c.udpTTL = r.sent, r.received, r.rtt, r.ttl
	if r.pmtu == nil {
		return
	}
	c.pmtuRound = round
	c.pmtu = *r.pmtu
	c.pmtuErr = ""
	if r.pmtuErr != nil {
		c.pmtuErr = pmtuErrorText(r.pmtuErr)
	}
	c.pmtuFailedSilent = r.pmtuErr != nil && r.received == 0
}

// pmtuErrorText says why a search found no path MTU in a line that does
// not change from round to round (no socket's port): the family's
// smallest size went unanswered, or an ICMP error, with who sent it.
func pmtuErrorText(err error) string {
	var errno syscall.Errno
	var pe *dgram.PathError
	text := oneLine(err.Error())
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return "timeout: the smallest size got no answer"
	case errors.As(err, &errno):
		text = errno.Error()
	}
	if errors.As(err, &pe) && pe.Report.From.IsValid() {
		text += ", reported by " + pe.Report.From.String()
	}
	return text
}

// lossRatio is the share of the last round's datagrams not answered.
func (c *cell) lossRatio() float64 {
	if c.udpSent == 0 {
		return 0
	}
	return float64(c.udpSent-c.udpReceived) / float64(c.udpSent)
}

// pathMTU is the last search's path MTU, 0 when none found one.
func (c *cell) pathMTU() int {
	if c.pmtuErr != "" {
		return 0
	}
	return c.pmtu.PathMTU
}

// datagramsNotable says a cell's datagrams found something worth a look
// though its TCP class be ok: loss, or a path MTU below the interface's,
// or a black hole. Such a cell travels in full in a compact row and in
// the matrix, and stands out on the page.
func (c *cell) datagramsNotable() bool { return c.lossy() || c.narrowPath() }

// lossy says some of the last round's datagrams went unanswered.
func (c *cell) lossy() bool { return c.udpReceived < c.udpSent }

// narrowPath says the last search found a path MTU below this node's
// interface MTU, or a black hole.
func (c *cell) narrowPath() bool {
	return c.pmtu.BlackHole || (c.pathMTU() > 0 && c.pathMTU() < c.pmtu.InterfaceMTU)
}

// datagramsNotable says the same of a cell as JSON.
func (j *Cell) datagramsNotable() bool {
	return (j.LossRatio != nil && *j.LossRatio > 0) || j.BlackHole || (j.PathMTU > 0 && j.PathMTU < j.InterfaceMTU)
}
