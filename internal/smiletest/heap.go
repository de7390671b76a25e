package smiletest

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// HeapPeak runs f and says how far the heap's objects rose above what was
// live before it (peak) and how many bytes it allocated (alloc), both of
// the whole process. The collector runs at GOGC=10 meanwhile, so that the
// heap follows what is live rather than the garbage a default GOGC lets
// pile up: peak is close to the most f held at once. It is sampled every
// millisecond, so a peak shorter than that may be missed.
func HeapPeak(f func()) (peak, alloc uint64) {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	read := func() (objects, allocs uint64) {
		metrics.Read(sample)
		return sample[0].Value.Uint64(), sample[1].Value.Uint64()
	}
	runtime.GC()
	base, alloc0 := read()
	done, top := make(chan struct{}), make(chan uint64)
	go func() {
		var max uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if o, _ := read(); o > max {
				max = o
			}
			select {
			case <-done:
				top <- max
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	max := <-top
	_, alloc1 := read()
	if max > base {
		peak = max - base
	}
	return peak, alloc1 - alloc0
}
