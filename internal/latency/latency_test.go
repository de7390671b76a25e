package latency

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	cases := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"none", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p90 of 1..100", hundred, 90, 90 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 is the max", hundred, 100, 100 * time.Millisecond},
		{"p50 of two rounds up", ms(1, 2), 50, time.Millisecond},
		{"tiny p is the min", ms(1, 2, 3), 0.1, time.Millisecond},
		{"p90 of 16 is the 15th, not the 14th", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), 90, 15 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, Percentile(c.sorted, c.p))
		})
	}
	assert.InDelta(t, 1.234, MS(1234*time.Microsecond), 1e-9)
}

// TestHistogramMatchesPercentile: below 512 µs the histogram gives exactly
// Percentile's values; above, the bucket's lowest value, within 0.4 %.
func TestHistogramMatchesPercentile(t *testing.T) {
	for _, c := range []struct {
		name string
		step time.Duration
		n    int
		tol  float64
	}{
		{"microseconds, exact", time.Microsecond, 500, 0},
		{"16 values", 20 * time.Microsecond, 16, 0},
		{"milliseconds", 997 * time.Microsecond, 1000, 0.004},
		{"seconds", 1234567 * time.Microsecond, 100, 0.004},
	} {
		t.Run(c.name, func(t *testing.T) {
			var h Histogram
			var sorted []time.Duration
			for i := 1; i <= c.n; i++ {
				d := time.Duration(i) * c.step
				sorted = append(sorted, d)
				h.Add(d)
			}
			assert.Equal(t, c.n, h.Count())
			assert.Equal(t, sorted[c.n-1], h.Max())
			for _, p := range []float64{0.1, 50, 90, 99, 100} {
				want, got := Percentile(sorted, p), h.Percentile(p)
				if c.tol == 0 {
					assert.Equal(t, want, got, "p%v", p)
					continue
				}
				assert.LessOrEqual(t, got, want, "p%v", p)
				assert.InEpsilon(t, float64(want), float64(got), c.tol, "p%v: %v vs %v", p, got, want)
			}
		})
	}
}

// TestHistogramBuckets: every bucket's lowest value maps back to it, and
// values far beyond the range land in the last bucket.
func TestHistogramBuckets(t *testing.T) {
	for i := range nBuckets {
		assert.Equal(t, i, bucket(lowest(i)), "bucket %d", i)
		if i > 0 {
			assert.Greater(t, lowest(i), lowest(i-1))
		}
	}
	assert.Equal(t, nBuckets-1, bucket(1<<62))
	var h Histogram
	h.Add(100 * 24 * time.Hour)
	assert.Equal(t, 100*24*time.Hour, h.Percentile(50), "capped by the exact max")
}
