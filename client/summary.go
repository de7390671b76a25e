package client

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/smile-sockets/smile/internal/latency"
)

// maxFailureLines caps the failures printed one by one in probe mode, so a
// dead server does not flood the terminal; the summary counts them all.
const maxFailureLines = 10

// stats aggregates the probes of one target. Latencies go into fixed-size
// histograms, so memory stays flat however many probes run.
type stats struct {
	probes   int
	classes  map[string]int
	connects latency.Histogram // of successful probes
	totals   latency.Histogram
	elapsed  time.Duration
	last     result // the last failure, or the last probe
	addr     string // the last address a probe connected to or failed at
	family   string // addr's family, or while there is none the first dialled
}

// okCount is how many probes succeeded: each left its latency.
func (s *stats) okCount() int { return s.totals.Count() }

func (s *stats) add(r *result) {
	s.probes++
	switch {
	case r.addr != "":
		s.addr, s.family = r.addr, r.family
	case s.addr == "" && r.family != "":
		// Several addresses failed: the family of the first dialled, as
		// the probe's own object says (docs/json.md).
		s.family = r.family
	}
	if r.ok() {
		s.connects.Add(r.connect)
		s.totals.Add(r.total)
		if s.last.class == "" {
			s.last = *r
			s.last.data = nil
		}
		return
	}
	if s.classes == nil {
		s.classes = map[string]int{}
	}
	s.classes[r.class]++
	s.last = *r
	s.last.data = nil
}

// summaryOf is the summary of target's probes, the last line of -json:
// ok when all of the count asked for ran and succeeded, as the exit code
// says.
func summaryOf(target string, st *stats, count int) Summary {
	return Summary{Header: NewHeader(TypeSummary), Target: target, OK: st.okCount() == count,
		Stats: st.totals.Stats(st.probes-st.okCount(), st.elapsed), Classes: st.classes}
}

func printSummary(w io.Writer, s *Summary) {
	fmt.Fprintf(w, "--- %s smile statistics ---\n", s.Target)
	fmt.Fprintf(w, "%d probes: %d ok, %d failed in %.3fs (%.1f/s)\n", s.Probes, s.OKProbes, s.FailedProbes, s.ElapsedMS/1000, s.Rate)
	if s.OKProbes > 0 {
		fmt.Fprintf(w, "latency p50 %.3fms p90 %.3fms p99 %.3fms max %.3fms\n", s.P50MS, s.P90MS, s.P99MS, s.MaxMS)
	}
	if len(s.Classes) > 0 {
		keys := make([]string, 0, len(s.Classes))
		for k := range s.Classes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s %d", k, s.Classes[k])
		}
		fmt.Fprintf(w, "failures: %s\n", strings.Join(parts, ", "))
	}
}
