package server

import (
	"errors"
	"sync/atomic"
	"syscall"
)

// Failure causes of a greeting, as Stats counts them: the peer did not
// read in time, the peer reset or closed, or anything else.
const (
	CauseTimeout = "timeout"
	CauseReset   = "reset"
	CauseOther   = "error"
)

// Causes are every cause of Stats.Failed, in a fixed order, for metrics
// that must know their label values in advance.
var Causes = []string{CauseTimeout, CauseReset, CauseOther}

// counters are the server's totals, one atomic add per greeting: reading
// them costs the scrape, never the greeting. Each sits on a cache line of
// its own so that listeners on different cores do not share one.
type counters struct {
	greeted atomic.Uint64
	_       [56]byte
	failed  [3]paddedCount
	// meshProbes counts the greetings of mesh peers (CountMeshProbes).
	meshProbes paddedCount
}

type paddedCount struct {
	n atomic.Uint64
	_ [56]byte
}

func (c *counters) count(werr error) {
	if werr == nil {
		c.greeted.Add(1)
		return
	}
	i := 2
	switch {
	case isTimeout(werr):
		i = 0
	case isReset(werr):
		i = 1
	}
	c.failed[i].n.Add(1)
}

// Stats is a Server's state for monitoring: totals since New and what is
// in progress now.
type Stats struct {
	Greetings uint64            // greetings written in full and closed
	Failed    map[string]uint64 // greetings that failed, by cause (Causes)
	InService int               // connections holding a slot (-max-conns)
	Lingering int64             // greeted sockets waiting for the peer's FIN
	Datagrams DatagramStats     // the datagram side's totals (zero without -udp)
}

// Stats reads the counters; safe at any time from any goroutine.
func (s *Server) Stats() Stats {
	st := Stats{Greetings: s.counters.greeted.Load(), Failed: make(map[string]uint64, len(Causes)),
		InService: s.tcp.slots.inUse(), Lingering: s.tcp.lingering.n.Load()}
	for i, c := range Causes {
		st.Failed[c] = s.counters.failed[i].n.Load()
	}
	if s.udp != nil {
		st.Datagrams = s.udp.stats()
	}
	return st
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}
