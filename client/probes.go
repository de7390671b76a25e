package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/smile-sockets/smile/internal/flushwriter"
	"github.com/smile-sockets/smile/internal/latency"
	"github.com/smile-sockets/smile/internal/netaddr"
)

// maxFailureLines caps the failures printed one by one in probe mode, so a
// dead server does not flood the terminal; the summary counts them all.
const maxFailureLines = 10

// stats aggregates the probes of one target.
type stats struct {
	probes   int
	classes  map[string]int
	connects []time.Duration // of successful probes
	totals   []time.Duration
	elapsed  time.Duration
	last     result // the last failure, or the last probe
	addr     string
	family   string
}

// okCount is how many probes succeeded: each left its latency.
func (s *stats) okCount() int { return len(s.totals) }

func (s *stats) add(r *result) {
	s.probes++
	if r.addr != "" {
		s.addr, s.family = r.addr, r.family
	}
	if r.ok() {
		s.connects = append(s.connects, r.connect)
		s.totals = append(s.totals, r.total)
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

func (s *stats) merge(o *stats) {
	s.probes += o.probes
	for k, v := range o.classes {
		if s.classes == nil {
			s.classes = map[string]int{}
		}
		s.classes[k] += v
	}
	s.connects = append(s.connects, o.connects...)
	s.totals = append(s.totals, o.totals...)
	if o.addr != "" {
		s.addr, s.family = o.addr, o.family
	}
	if o.last.target != "" && (s.last.target == "" || o.last.class != "") {
		s.last = o.last
	}
}

// probeJSON is one probe as -json prints it.
type probeJSON struct {
	Target    string  `json:"target"`
	Address   string  `json:"address,omitempty"`
	Family    string  `json:"family,omitempty"`
	ConnectMS float64 `json:"connect_ms"`
	TotalMS   float64 `json:"total_ms"`
	Bytes     int     `json:"bytes"`
	Greeting  *string `json:"greeting,omitempty"`
	OK        bool    `json:"ok"`
	Class     string  `json:"class,omitempty"`
	Error     string  `json:"error,omitempty"`
}

func toJSON(r *result) probeJSON {
	j := probeJSON{Target: r.target, Address: r.addr, Family: strings.ToLower(r.family),
		ConnectMS: latency.MS(r.connect), TotalMS: latency.MS(r.total), Bytes: len(r.data), OK: r.ok(), Class: r.class}
	if r.ok() || r.class == classMismatch {
		g := string(r.data)
		j.Greeting = &g
	}
	if !r.ok() {
		j.Error = r.message()
	}
	return j
}

// summaryJSON closes every -json output.
type summaryJSON struct {
	Summary bool   `json:"summary"`
	Target  string `json:"target"`
	latency.Stats
	Classes map[string]int `json:"classes,omitempty"`
}

// runner probes one target count times with the configured concurrency
// and interval, reporting each probe through onResult (called from the
// workers, serialized).
func (p *prober) run(ctx context.Context, target, network string, onResult func(*result)) *stats {
	cfg := p.cfg
	var next atomic.Int64
	var mu sync.Mutex
	total := &stats{}
	var wg sync.WaitGroup
	start := time.Now()
	for range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := &stats{}
			buf := make([]byte, 0, min(4096, cfg.maxBytes+1))
			for first := true; ; first = false {
				if next.Add(1) > int64(cfg.count) || ctx.Err() != nil {
					break
				}
				if !first && cfg.interval > 0 {
					select {
					case <-time.After(cfg.interval):
					case <-ctx.Done():
					}
				}
				r := p.probe(ctx, target, network, buf)
				if cap(r.data) > cap(buf) {
					buf = r.data[:0]
				}
				local.add(&r)
				if onResult != nil {
					mu.Lock()
					onResult(&r)
					mu.Unlock()
				}
			}
			mu.Lock()
			total.merge(local)
			mu.Unlock()
		}()
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	slices.Sort(total.connects)
	slices.Sort(total.totals)
	return total
}

// flushEvery bounds how late a -json probe line reaches stdout.
const flushEvery = 100 * time.Millisecond

// runProbes is probe mode: -count, -concurrency, -json.
func runProbes(ctx context.Context, p *prober, cfg *config, stdout, stderr io.Writer) int {
	target := cfg.target.String()
	if cfg.json {
		// One write(2) per batch of lines, not per probe, which would cost
		// the load generator as much as a probe.
		lw := flushwriter.New(stdout, 32<<10, flushEvery)
		defer lw.Close() // before anything else is written: the summary goes through lw too
		stdout = lw
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	printed := 0
	st := p.run(ctx, target, cfg.network(), func(r *result) {
		switch {
		case cfg.json:
			_ = enc.Encode(toJSON(r))
		case !r.ok() && printed < maxFailureLines:
			printed++
			fmt.Fprintf(stderr, "smile-client: %s\n", r.message())
		}
	})
	if cfg.json {
		_ = enc.Encode(summaryOf(target, st))
	} else {
		printSummary(stdout, target, st)
	}
	if st.okCount() != cfg.count {
		return exitFailure
	}
	return exitOK
}

func summaryOf(target string, st *stats) summaryJSON {
	return summaryJSON{Summary: true, Target: target, Stats: latency.Summarize(st.totals, st.probes-st.okCount(), st.elapsed), Classes: st.classes}
}

func printSummary(w io.Writer, target string, st *stats) {
	s := summaryOf(target, st)
	fmt.Fprintf(w, "--- %s smile statistics ---\n", target)
	fmt.Fprintf(w, "%d probes: %d ok, %d failed in %.3fs (%.1f/s)\n", s.Probes, s.OK, s.Failed, s.Seconds, s.Rate)
	if s.OK > 0 {
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

// eachRow is one line of the -each table and one -json object.
type eachRow struct {
	Target    string  `json:"target"`
	Address   string  `json:"address,omitempty"`
	Family    string  `json:"family,omitempty"`
	Via       string  `json:"via"` // "address" or "name"
	OK        bool    `json:"ok"`
	Probes    int     `json:"probes"`
	OKProbes  int     `json:"ok_probes"`
	Class     string  `json:"class,omitempty"`
	Error     string  `json:"error,omitempty"`
	ConnectMS float64 `json:"connect_ms"`
	TotalMS   float64 `json:"total_ms"`
}

// runEach probes every address of the host separately, then the name
// itself through the normal dialer, so one unreachable address (one node,
// one family) cannot hide behind a working one.
func runEach(ctx context.Context, p *prober, cfg *config, stdout, stderr io.Writer) int {
	type job struct{ target, network, via string }
	var jobs []job
	port := cfg.target.Port
	if cfg.target.Kind == netaddr.Name {
		lctx, cancel := context.WithTimeout(ctx, cfg.timeout)
		addrs, err := p.res.LookupNetIP(lctx, map[string]string{"tcp": "ip", "tcp4": "ip4", "tcp6": "ip6"}[cfg.network()], cfg.target.Text)
		cancel()
		if err != nil {
			r := result{target: cfg.target.String(), err: err, class: classDNS, phase: "resolve"}
			return reportEach(stdout, stderr, cfg, []eachRow{rowOf(&r, "name", &stats{probes: 1, last: r})})
		}
		seen := map[netip.Addr]bool{}
		for _, a := range addrs {
			a = a.Unmap()
			if seen[a] {
				continue
			}
			seen[a] = true
			network := "tcp6"
			if a.Is4() {
				network = "tcp4"
			}
			jobs = append(jobs, job{netaddr.JoinHostPort(a.String(), port), network, "address"})
		}
	}
	jobs = append(jobs, job{cfg.target.String(), cfg.network(), "name"})
	if cfg.target.Kind != netaddr.Name {
		jobs[len(jobs)-1].via = "address"
	}
	rows := make([]eachRow, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := p.run(ctx, j.target, j.network, nil)
			rows[i] = rowOf(&st.last, j.via, st)
			rows[i].Target = j.target
		}()
	}
	wg.Wait()
	return reportEach(stdout, stderr, cfg, rows)
}

func rowOf(last *result, via string, st *stats) eachRow {
	row := eachRow{Target: last.target, Address: st.addr, Family: st.family, Via: via,
		Probes: st.probes, OKProbes: st.okCount(), OK: st.probes > 0 && st.okCount() == st.probes}
	if !row.OK {
		row.Class, row.Error = last.class, last.message()
	}
	if len(st.totals) > 0 {
		row.ConnectMS, row.TotalMS = latency.MS(latency.Percentile(st.connects, 50)), latency.MS(latency.Percentile(st.totals, 50))
	}
	return row
}

func reportEach(stdout, stderr io.Writer, cfg *config, rows []eachRow) int {
	failed := 0
	for _, r := range rows {
		if !r.OK {
			failed++
		}
	}
	if cfg.json {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		for _, r := range rows {
			_ = enc.Encode(r)
		}
		_ = enc.Encode(struct {
			Summary bool   `json:"summary"`
			Target  string `json:"target"`
			Targets int    `json:"targets"`
			OK      int    `json:"ok"`
			Failed  int    `json:"failed"`
		}{true, cfg.target.String(), len(rows), len(rows) - failed, failed})
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TARGET\tVIA\tADDRESS\tFAMILY\tRESULT\tPROBES\tCONNECT\tTOTAL")
		for _, r := range rows {
			res := "ok"
			if !r.OK {
				res = r.Class
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%.3fms\t%.3fms\n", r.Target, r.Via, dash(r.Address), dash(r.Family), res, r.OKProbes, r.Probes, r.ConnectMS, r.TotalMS)
		}
		_ = tw.Flush()
		fmt.Fprintf(stdout, "%d targets: %d ok, %d failed\n", len(rows), len(rows)-failed, failed)
		for _, r := range rows {
			if !r.OK {
				fmt.Fprintf(stderr, "smile-client: %s\n", r.Error)
			}
		}
	}
	if failed > 0 {
		return exitFailure
	}
	return exitOK
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
