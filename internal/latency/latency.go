// Package latency holds the one percentile definition that smile-client's
// summaries and the benchmark harness share, so their figures agree by
// construction.
package latency

import "time"

// Percentile is the nearest-rank percentile p (0-100] of sorted durations,
// 0 for none: a value that was really measured, never an interpolation.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// MS is d in milliseconds with microsecond precision, as reports print it.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
