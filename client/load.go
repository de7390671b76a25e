package client

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smile-sockets/smile/internal/flushwriter"
)

// keptBuffer is the largest read buffer a worker keeps between probes: a
// greeting longer than that is read into a buffer of its own and dropped,
// so idle memory is workers × 4 KiB whatever -max-bytes and -each's
// number of addresses.
const keptBuffer = 4096

// repeat probes one target count times with the configured concurrency
// and interval, reporting each probe through onResult (called from the
// workers, serialized). Every worker adds to one stats under a lock: a
// probe costs a connection, far more than the lock.
func (p *prober) repeat(ctx context.Context, target, network string, onResult func(*result)) *stats {
	cfg := p.cfg
	var next atomic.Int64
	var mu sync.Mutex
	total := &stats{}
	var wg sync.WaitGroup
	start := time.Now()
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, min(keptBuffer, cfg.MaxBytes+1))
			for first := true; ; first = false {
				if next.Add(1) > int64(cfg.Count) || ctx.Err() != nil {
					break
				}
				if !first && cfg.Interval > 0 {
					select {
					case <-time.After(cfg.Interval):
					case <-ctx.Done():
					}
				}
				r := p.probe(ctx, target, network, buf)
				mu.Lock()
				total.add(&r)
				if onResult != nil {
					onResult(&r)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	return total
}

// flushEvery bounds how late a -json probe line reaches stdout.
const flushEvery = 100 * time.Millisecond

// runProbes is probe mode: -count, -concurrency, -json.
func runProbes(ctx context.Context, p *prober, cfg *Config, rep *junitReport, stdout, stderr io.Writer) int {
	target := cfg.Target.String()
	if cfg.JSON {
		// One write(2) per batch of lines, not per probe, which would cost
		// the load generator as much as a probe.
		lw := flushwriter.New(stdout, 32<<10, flushEvery)
		defer lw.Close() // before anything else is written: the summary goes through lw too
		stdout = lw
	}
	enc := newEncoder(stdout)
	printed := 0
	st := p.repeat(ctx, target, cfg.network(), func(r *result) {
		rep.add(r)
		switch {
		case cfg.JSON:
			_ = enc.Encode(probeJSON(r))
		case !r.ok() && printed < maxFailureLines:
			printed++
			fmt.Fprintf(stderr, "smile-client: %s\n", r.message())
		}
	})
	s := summaryOf(target, st, cfg.Count)
	if cfg.JSON {
		_ = enc.Encode(s)
	} else {
		printSummary(stdout, &s)
	}
	if !s.OK {
		return exitFailure
	}
	return exitOK
}
