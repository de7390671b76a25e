//go:build linux

// Package bench holds the reference programs smile is measured against:
// the smallest correct greeting server, the tutorial's sequential server
// that names each peer before the next accept, and a minimal dial-read-close
// load loop (here); the C greeting and datagram loops (cserver.go, c/);
// and the datagram load loop (dgramloop.go). Everything here talks to
// loopback only.
package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smile-sockets/smile/internal/latency"
)

// Greeting is what every server in the benchmark writes.
const Greeting = "Smile from the server"

// ServeBaseline is the smallest correct greeting server: accept, write,
// close, one goroutine per connection, no logging, no limits. It returns
// when ln is closed.
func ServeBaseline(ln net.Listener, greeting []byte) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return err
			}
			time.Sleep(5 * time.Millisecond) // EMFILE and the like
			continue
		}
		go func() {
			_, _ = c.Write(greeting)
			_ = c.Close()
		}()
	}
}

// ServeSequential is the tutorial's design: one connection at a time, the
// peer's reverse-DNS name looked up (bounded by timeout) and printed before
// the greeting is written and the next connection accepted.
func ServeSequential(ln net.Listener, greeting []byte, r *net.Resolver, timeout time.Duration, log io.Writer) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		addr := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap().String()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		names, _ := r.LookupAddr(ctx, addr)
		cancel()
		name := addr
		if len(names) > 0 {
			name = names[0]
		}
		fmt.Fprintf(log, "Connection received from %s (%s)\n", name, addr)
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Write(greeting)
		_ = c.Close()
	}
}

// Summary is a load run's outcome, with the header and field names of
// smile-client's -json summary object (docs/json.md) so that both are read
// the same way.
type Summary struct {
	SchemaVersion int    `json:"schema_version"`
	Type          string `json:"type"` // "summary"
	latency.Stats
	// FirstError is the first failure, for the report.
	FirstError string `json:"first_error,omitempty"`
}

// DialLoop is the minimal load generator: workers goroutines dial addr,
// read to EOF, check the greeting and close, count times in all. Worker i
// binds to sources[i%len(sources)] when sources is not empty, so that the
// server sees peers other than 127.0.0.1.
func DialLoop(ctx context.Context, addr string, count, workers int, sources []netip.Addr, readTimeout time.Duration, greeting []byte) Summary {
	return loop(ctx, count, workers, func(w int) (func() error, func(), error) {
		d := net.Dialer{Timeout: 5 * time.Second}
		if len(sources) > 0 {
			d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(sources[w%len(sources)], 0))
		}
		buf := make([]byte, 0, 512)
		return func() error { return probe(ctx, &d, addr, buf, readTimeout, greeting) }, func() {}, nil
	})
}

// loop runs count probes over workers goroutines, worker w's probes made
// by newWorker(w) (which also returns how to release what the worker
// holds), and summarises their times. A worker newWorker fails for runs
// no probe (the others run them) and gives the first error; probes never
// run count as failed, so that ok and failed always add up to count.
func loop(ctx context.Context, count, workers int, newWorker func(w int) (probe func() error, done func(), err error)) Summary {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lat      = make([]time.Duration, 0, count)
		firstErr string
		wg       sync.WaitGroup
	)
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var why string
			local := make([]time.Duration, 0, count/workers+1)
			probe, done, err := newWorker(w)
			if err != nil {
				why = err.Error()
			} else {
				defer done()
				for next.Add(1) <= int64(count) && ctx.Err() == nil {
					t0 := time.Now()
					if err := probe(); err != nil {
						if why == "" {
							why = err.Error()
						}
						continue
					}
					local = append(local, time.Since(t0))
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			if firstErr == "" {
				firstErr = why
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	return Summary{SchemaVersion: 1, Type: "summary", Stats: latency.Summarize(lat, count-len(lat), elapsed), FirstError: firstErr}
}

func probe(ctx context.Context, d *net.Dialer, addr string, buf []byte, readTimeout time.Duration, greeting []byte) error {
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(readTimeout))
	buf = buf[:0]
	for {
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if len(buf) == cap(buf) {
			return fmt.Errorf("more than %d bytes", cap(buf))
		}
	}
	if !bytes.Equal(buf, greeting) {
		return fmt.Errorf("greeting %q, want %q", buf, greeting)
	}
	return nil
}
