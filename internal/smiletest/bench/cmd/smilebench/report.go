//go:build linux

package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/smile-sockets/smile/internal/smiletest/bench"
)

// metric is one figure of a summary.
type metric struct {
	name string
	of   func(bench.Summary) float64
}

var (
	connRate = metric{"conn/s", func(s bench.Summary) float64 { return s.Rate }}
	p50      = metric{"p50", func(s bench.Summary) float64 { return s.P50MS }}
	p99      = metric{"p99", func(s bench.Summary) float64 { return s.P99MS }}
)

// median of v, which it sorts; 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// med is the median of a row's figure over the rounds.
func (r *row) med(m metric) float64 {
	v := make([]float64, len(r.results))
	for i, s := range r.results {
		v[i] = m.of(s)
	}
	return median(v)
}

// ratio is the median over the rounds of a's figure over b's in the same
// round, which cancels the drift between rounds on a shared machine.
// A skipped row gives 0.
func ratio(a, b *row, m metric) float64 {
	n := min(len(a.results), len(b.results))
	if n == 0 {
		return 0
	}
	v := make([]float64, n)
	for i := range n {
		v[i] = m.of(a.results[i]) / m.of(b.results[i])
	}
	return median(v)
}

// bound says which way a target points.
type bound int

const (
	atLeast bound = iota
	atMost
	noTarget // shown for scale only
)

// target is a ratio between two rows and the bound it should keep.
type target struct {
	what  string
	a, b  *row
	m     metric
	bound bound
	want  float64
	// stretch is a further goal beyond want, 0 for none.
	stretch float64
}

// met reports whether got keeps the target's bound.
func (t target) met(got float64) bool {
	switch t.bound {
	case atLeast:
		return got >= t.want
	case atMost:
		return got <= t.want
	}
	return true
}

func (t target) String() string {
	return fmt.Sprintf("%s (row %s ÷ row %s)", t.what, t.a.name, t.b.name)
}

// printTable prints every row's medians and its ratios to the yardsticks:
// the "vs c" columns divide by the row's own yardstick (the C datagram
// loop for the datagram rows), the "vs go" ones by row go; "—" where the
// yardstick did not run or is not this row's kind.
func printTable(w io.Writer, t table) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "row\tserver\tloader\t  conn/s\t  p50 ms\t    p99 ms\tconn/s vs %[1]s\tp99 vs %[1]s\tconn/s vs %[2]s\tp99 vs %[2]s\n", t.c.name, t.goClient.name)
	vs := func(rw, yard *row) string {
		if yard == nil || yard.skip != "" || len(yard.results) == 0 {
			return "—\t—"
		}
		return fmt.Sprintf("%10.3f×\t%7.2f×", ratio(rw, yard, connRate), ratio(rw, yard, p99))
	}
	for _, rw := range t.rows {
		if rw.skip != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\tskipped: %s\n", rw.name, rw.server, rw.loader.name, rw.skip)
			continue
		}
		rate := rw.med(connRate)
		r := fmt.Sprintf("%8.0f", rate)
		if rate < 100 {
			r = fmt.Sprintf("%8.2f", rate)
		}
		goYard := t.goClient
		if rw.yard != nil { // a datagram row: no Go datagram baseline
			goYard = nil
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%8.3f\t%10.3f\t%s\t%s\n", rw.name, rw.server, rw.loader.name,
			r, rw.med(p50), rw.med(p99), vs(rw, cmp.Or(rw.yard, t.c)), vs(rw, goYard))
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "   medians of the rounds; ratios: median of the per-round ratios; latency: connect until the greeting's EOF")
	if slices.ContainsFunc(t.rows, func(rw *row) bool { return rw.group == "udp" }) {
		fmt.Fprintln(w, "   datagram rows (udp/…): conn/s is answers/s, latency the round trip of one request, \"vs c\" is vs row udp/c")
	}
}

// printTargets prints each target's ratio and whether it was met, and
// returns how many were missed.
func printTargets(w io.Writer, targets []target) (missed int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, t := range targets {
		if skip := cmp.Or(t.a.skip, t.b.skip); skip != "" {
			fmt.Fprintf(tw, "%s\t—\t\tnot measured: %s\n", t, skip)
			continue
		}
		got := ratio(t.a, t.b, t.m)
		if t.bound == noTarget {
			fmt.Fprintf(tw, "%s\t%.5f×\t\t\n", t, got)
			continue
		}
		op := "≥"
		if t.bound == atMost {
			op = "≤"
		}
		res, goal := "ok", fmt.Sprintf("(target %s %.2f×)", op, t.want)
		if t.stretch != 0 {
			goal = fmt.Sprintf("(target %s %.2f×, stretch %.2f×)", op, t.want, t.stretch)
			if got >= t.stretch {
				res = "ok, stretch met"
			}
		}
		if !t.met(got) {
			res, missed = "BELOW TARGET", missed+1
		}
		fmt.Fprintf(tw, "%s\t%.2f×\t%s\t%s\n", t, got, goal, res)
	}
	_ = tw.Flush()
	return missed
}

// printMemory prints each server's peak RSS per round and returns how
// many smile-servers grew or went over 50 MB.
func printMemory(w io.Writer, procs []*proc) (failures int) {
	procs = slices.DeleteFunc(slices.Clone(procs), func(p *proc) bool { return p == nil || len(p.rss) == 0 }) // servers that did not run
	if len(procs) == 0 {
		return 0
	}
	defer fmt.Fprintln(w)
	fmt.Fprintln(w, "smile-server memory (VmRSS, peak per round, sampled every 20 ms):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "server\tmax\tround 1\tlast round\trounds\tresult")
	for _, p := range procs {
		res := "ok"
		peak := slices.Max(p.rss)
		first, last := p.rss[0], p.rss[len(p.rss)-1]
		switch {
		case !p.smile:
			res = "(reference)"
		case p.limitMiB > 0 && peak >= int64(p.limitMiB)<<10:
			res = fmt.Sprintf("OVER GOMEMLIMIT %d MiB", p.limitMiB)
			failures++
		case p.limitMiB > 0:
			res = fmt.Sprintf("ok (GOMEMLIMIT %d MiB)", p.limitMiB)
		case peak >= 50<<10:
			res = "OVER 50 MB"
			failures++
		case last > first+max(first/4, 4<<10):
			res = "GREW"
			failures++
		}
		per := make([]string, len(p.rss))
		for i, v := range p.rss {
			per[i] = fmt.Sprintf("%.1f", float64(v)/1024)
		}
		fmt.Fprintf(tw, "%s\t%.1f MB\t%.1f MB\t%.1f MB\t%s\t%s\n", p.name, float64(peak)/1024, float64(first)/1024, float64(last)/1024, strings.Join(per, " "), res)
	}
	_ = tw.Flush()
	return failures
}
