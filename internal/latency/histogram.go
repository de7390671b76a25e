package latency

import (
	"math"
	"math/bits"
	"time"
)

// Histogram buckets: microseconds below 2^exactBits are counted exactly;
// each power of two above is split into 2^subBits buckets, so a bucket is
// at most 1/256 (0.4 %) of its value wide, up to 2^maxBits µs (about 19
// hours; longer values share the last bucket).
const (
	subBits   = 8
	exactBits = subBits + 1
	maxBits   = 36
	nBuckets  = 1<<exactBits + (maxBits-exactBits)<<subBits
)

// Histogram counts durations in a fixed number of buckets, so a client
// that probes ten million times keeps the same 59 KiB as one that probes
// ten times, and percentiles stay nearest-rank: the value of the probe at
// that rank, exact to the microsecond below 512 µs and within 0.4 % above.
// The zero value is empty and ready to use.
type Histogram struct {
	counts [nBuckets]uint64
	n      int
	max    time.Duration
}

// Add counts one duration (negative ones as zero).
func (h *Histogram) Add(d time.Duration) {
	d = max(d, 0)
	h.counts[bucket(uint64(d.Microseconds()))]++
	h.n++
	h.max = max(h.max, d)
}

// Merge adds every count of o.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count is how many durations were added.
func (h *Histogram) Count() int { return h.n }

// Max is the longest duration added, exactly.
func (h *Histogram) Max() time.Duration { return h.max }

// Percentile is the nearest-rank percentile p (0-100] as Percentile
// defines it: the lowest value of the bucket that holds the probe of rank
// ceil(n*p/100), never above Max; 0 when empty.
func (h *Histogram) Percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	r := rank(h.n, p)
	seen := 0
	for i, c := range h.counts {
		seen += int(c)
		if seen >= r && i == nBuckets-1 {
			return h.max // beyond the range: only the max is known
		}
		if seen >= r {
			return min(time.Duration(lowest(i))*time.Microsecond, h.max)
		}
	}
	return h.max
}

// Stats is Summarize for a histogram of the successful probes.
func (h *Histogram) Stats(failed int, elapsed time.Duration) Stats {
	s := Stats{Probes: h.n + failed, OKProbes: h.n, FailedProbes: failed, ElapsedMS: MS(elapsed)}
	if elapsed > 0 {
		s.Rate = float64(s.Probes) / elapsed.Seconds()
	}
	if h.n > 0 {
		s.P50MS, s.P90MS, s.P99MS, s.MaxMS = MS(h.Percentile(50)), MS(h.Percentile(90)), MS(h.Percentile(99)), MS(h.max)
	}
	return s
}

// rank is the 1-based nearest rank of percentile p among n values.
func rank(n int, p float64) int {
	return max(1, min(n, int(math.Ceil(float64(n)*p/100))))
}

func bucket(us uint64) int {
	if us < 1<<exactBits {
		return int(us)
	}
	e := bits.Len64(us) - exactBits // how far above the exact range, in powers of two
	if e > maxBits-exactBits {
		return nBuckets - 1
	}
	return 1<<exactBits + (e-1)<<subBits + int(us>>e) - 1<<subBits
}

// lowest is the smallest value, in microseconds, of bucket i.
func lowest(i int) uint64 {
	if i < 1<<exactBits {
		return uint64(i)
	}
	i -= 1 << exactBits
	e := i>>subBits + 1
	return uint64(i&(1<<subBits-1)+1<<subBits) << e
}
