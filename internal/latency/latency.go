// Package latency holds the one percentile definition that smile-client's
// summaries and the benchmark harness share, so their figures agree by
// construction.
package latency

import "time"

// Percentile is the nearest-rank percentile p (0-100] of sorted durations,
// 0 for none: the value of rank ceil(n*p/100), one that was really
// measured, never an interpolation or a rounded rank (of 16 values p90 is
// the 15th).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[rank(len(sorted), p)-1]
}

// MS is d in milliseconds with microsecond precision, as reports print it.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Stats is the outcome of a run of probes, with the field names of
// smile-client's -json summary object (docs/json.md), which the bench
// harness reads. The percentiles are absent when no probe succeeded: a
// latency of 0 would be one nobody measured.
type Stats struct {
	Probes       int     `json:"probes"`
	OKProbes     int     `json:"ok_probes"`
	FailedProbes int     `json:"failed_probes"`
	ElapsedMS    float64 `json:"elapsed_ms"` // the run's wall time
	Rate         float64 `json:"rate_per_s"` // probes per second
	P50MS        float64 `json:"p50_ms,omitempty"`
	P90MS        float64 `json:"p90_ms,omitempty"`
	P99MS        float64 `json:"p99_ms,omitempty"`
	MaxMS        float64 `json:"max_ms,omitempty"`
}

// Summarize computes Stats from the sorted latencies of the successful
// probes, the number that failed and the run's wall time.
func Summarize(sorted []time.Duration, failed int, elapsed time.Duration) Stats {
	s := Stats{Probes: len(sorted) + failed, OKProbes: len(sorted), FailedProbes: failed, ElapsedMS: MS(elapsed)}
	if elapsed > 0 {
		s.Rate = float64(s.Probes) / elapsed.Seconds()
	}
	if n := len(sorted); n > 0 {
		s.P50MS, s.P90MS, s.P99MS, s.MaxMS = MS(Percentile(sorted, 50)), MS(Percentile(sorted, 90)), MS(Percentile(sorted, 99)), MS(sorted[n-1])
	}
	return s
}
