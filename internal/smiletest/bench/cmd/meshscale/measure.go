//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smile-sockets/smile/internal/smiletest/procfs"
)

// inside runs the nodes in the namespace the outer run made and measures
// them.
func inside(ctx context.Context, c config) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	spec := meshSpec(c.n)
	fmt.Printf(">> %d nodes in namespace %s, -mesh-peers %d, -mesh-interval %v (%d probes a second)\n",
		c.n, c.inner, c.k, c.interval, c.n*min(c.k, c.n-1)*int(time.Second)/int(c.interval))
	f, err := startFarm(ctx, c)
	defer func() { cancel(); f.wg.Wait() }()
	if err != nil {
		return err
	}
	node1, err := startObserved(ctx, c, spec)
	if err != nil {
		return err
	}
	defer func() { cancel(); _ = node1.Wait() }()
	base := "http://" + netip.AddrPortFrom(nodeAddr(1), httpPort).String()
	hc := &http.Client{Timeout: 4 * c.interval}
	// fresh asks for the matrix on a connection of its own each time, as
	// a browser opening the page would: a reply the node fails to make
	// is a figure of the run, not a reason to stop it.
	fresh := &http.Client{Timeout: 4 * c.interval, Transport: &http.Transport{DisableKeepAlives: true}}

	// Warm-up: every node has probed all its turns once, or the rounds
	// -warmup asks for (a run that measures rows and memory, not every
	// cell, need not wait ⌈N/K⌉ rounds).
	turns := (c.n - 1 + c.k - 1) / c.k
	if c.warmup > 0 {
		turns = c.warmup
	}
	r0, err := waitRound(ctx, hc, base, uint64(turns+1), time.Duration(turns+3)*c.interval+30*time.Second)
	if err != nil {
		return errors.Join(err, errors.New(strings.Join(f.failed(), "; ")))
	}
	u0, err := procfs.ReadUsage(node1.Process.Pid)
	if err != nil {
		return err
	}
	f0, err := f.usage()
	if err != nil {
		return err
	}
	r1, err := waitRound(ctx, hc, base, r0+uint64(c.rounds), time.Duration(c.rounds+2)*c.interval)
	if err != nil {
		return err
	}
	u1, _ := procfs.ReadUsage(node1.Process.Pid)
	f1, _ := f.usage()
	rounds := time.Duration(r1 - r0)
	res := result{
		node1CPU: (u1.CPU - u0.CPU) / rounds,
		farmCPU:  (f1.CPU - f0.CPU) / rounds / time.Duration(c.n-1),
		rssIdle:  u1.RSSKB,
		farmRSS:  f1.RSSKB / (c.n - 1),
	}
	if bad := f.failed(); len(bad) > 0 {
		return fmt.Errorf("%d nodes ended early: %s", len(bad), bad[0])
	}
	for i := range 3 {
		g, err := getMatrix(ctx, fresh, base)
		if err != nil {
			g.err = fmt.Sprintf("request %d: %v", i+1, err)
		}
		res.matrices = append(res.matrices, g)
	}
	u2, _ := procfs.ReadUsage(node1.Process.Pid)
	res.rssMatrix = u2.RSSKB
	res.series, err = countSeries(ctx, fresh, base)
	if err != nil {
		res.seriesErr = err.Error()
	}
	res.page, err = drawPage(ctx, c.chromium, base+"/")
	if err != nil {
		res.pageErr = err.Error()
	}
	u3, _ := procfs.ReadUsage(node1.Process.Pid)
	res.rssPage, res.hwm = u3.RSSKB, u3.HWMKB
	res.print(os.Stdout, c)
	return nil
}

// result is what a run measured.
type result struct {
	node1CPU, farmCPU  time.Duration // CPU a round, per node
	rssIdle, farmRSS   int           // KiB: node 1 before the matrix, the farm per node
	rssMatrix, rssPage int           // KiB: node 1 after three /matrix.json, with the page drawn
	hwm                int           // KiB: node 1's peak
	matrices           []gathered
	series             int
	seriesErr          string
	page               pageDraw
	pageErr            string
}

// staleKind is a stale row's reason without what differs from row to
// row (addresses, numbers), so that reasons can be counted: "no row from
// http://127.2.0.9:28080/mesh.json: timeout" is "no row from URL: timeout".
func staleKind(reason string) string {
	reason = urlRe.ReplaceAllString(reason, "URL")
	reason = numRe.ReplaceAllString(reason, "N")
	if len(reason) > 60 {
		reason = reason[:60] + "…"
	}
	return reason
}

var (
	urlRe = regexp.MustCompile(`https?://[^\s:]+(:[0-9]+)?[^\s:]*`)
	numRe = regexp.MustCompile(`[0-9][0-9.:]*`)
)

// gathered is one /matrix.json request as a browser would make it.
type gathered struct {
	took        time.Duration
	bytes       int
	rows, stale int
	assembleMS  float64
	err         string   // the request failed: why
	reasons     []string // the stale rows' reasons, counted by kind
	// The full cells, by why they travel in full: failing, ok with
	// datagrams lost or a narrower path, ok otherwise (just changed).
	failing, lossy, changed int
}

func getMatrix(ctx context.Context, hc *http.Client, base string) (gathered, error) {
	start := time.Now()
	body, err := get(ctx, hc, base+"/matrix.json")
	if err != nil {
		return gathered{took: time.Since(start)}, err
	}
	g := gathered{took: time.Since(start), bytes: len(body)}
	var m struct {
		AssembleMS float64 `json:"assemble_ms"`
		Rows       []struct {
			Stale bool   `json:"stale"`
			Error string `json:"error"`
			Cells []struct {
				OK           bool     `json:"ok"`
				LossRatio    *float64 `json:"loss_ratio"`
				PathMTU      int      `json:"path_mtu"`
				InterfaceMTU int      `json:"interface_mtu"`
				BlackHole    bool     `json:"black_hole"`
			} `json:"cells"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return g, fmt.Errorf("reading /matrix.json: %w", err)
	}
	g.assembleMS, g.rows = m.AssembleMS, len(m.Rows)
	reasons := map[string]int{}
	for _, r := range m.Rows {
		if r.Stale {
			g.stale++
			reasons[staleKind(r.Error)]++
		}
		for _, c := range r.Cells {
			switch {
			case !c.OK:
				g.failing++
			case (c.LossRatio != nil && *c.LossRatio > 0) || c.BlackHole || (c.PathMTU > 0 && c.PathMTU < c.InterfaceMTU):
				g.lossy++
			default:
				g.changed++
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(reasons)) {
		g.reasons = append(g.reasons, fmt.Sprintf("%d %s", reasons[k], k))
	}
	return g, nil
}

// waitRound polls node 1's row until it has completed round want.
func waitRound(ctx context.Context, hc *http.Client, base string, want uint64, bound time.Duration) (uint64, error) {
	deadline := time.Now().Add(bound)
	var last uint64
	for time.Now().Before(deadline) {
		body, err := get(ctx, hc, base+"/mesh.json?destinations=none")
		if err == nil {
			var row struct {
				Round uint64 `json:"round"`
			}
			if json.Unmarshal(body, &row) == nil {
				last = row.Round
				if last >= want {
					return last, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return last, fmt.Errorf("node 1 completed round %d, not %d, within %v", last, want, bound)
}

// countSeries counts node 1's smile_ samples, as Prometheus would store them.
func countSeries(ctx context.Context, hc *http.Client, base string) (int, error) {
	body, err := get(ctx, hc, base+"/metrics")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "smile_") {
			n++
		}
	}
	return n, nil
}

func get(ctx context.Context, hc *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, err
}

func (r result) print(w io.Writer, c config) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "nodes\t%d\n", c.n)
	fmt.Fprintf(tw, "interval\t%v (-mesh-peers %d)\n", c.interval, c.k)
	fmt.Fprintf(tw, "CPU a round, node 1 (process)\t%.1f ms\n", ms(r.node1CPU))
	fmt.Fprintf(tw, "CPU a round, per farm node\t%.1f ms\n", ms(r.farmCPU))
	fmt.Fprintf(tw, "RSS node 1: rounds only\t%.1f MiB\n", mib(r.rssIdle))
	fmt.Fprintf(tw, "RSS node 1: after 3 × /matrix.json\t%.1f MiB\n", mib(r.rssMatrix))
	fmt.Fprintf(tw, "RSS node 1: page drawn\t%.1f MiB (peak %.1f MiB)\n", mib(r.rssPage), mib(r.hwm))
	fmt.Fprintf(tw, "RSS per farm node\t%.2f MiB\n", mib(r.farmRSS))
	for i, g := range r.matrices {
		if g.err != "" {
			fmt.Fprintf(tw, "/matrix.json #%d\tfailed after %.0f ms: %s\n", i+1, ms(g.took), g.err)
			continue
		}
		why := ""
		if len(g.reasons) > 0 {
			why = " (" + strings.Join(g.reasons, ", ") + ")"
		}
		fmt.Fprintf(tw, "/matrix.json #%d\t%.0f ms, %d bytes (%.1f a cell), %d rows, %d stale%s, gathered in %.0f ms\n",
			i+1, ms(g.took), g.bytes, float64(g.bytes)/float64(c.n*c.n), g.rows, g.stale, why, g.assembleMS)
		fmt.Fprintf(tw, "  its full cells\t%d failing, %d ok with datagrams lost or a narrower path, %d ok and just changed\n",
			g.failing, g.lossy, g.changed)
	}
	if r.seriesErr != "" {
		fmt.Fprintf(tw, "smile_ series on node 1\tnot counted: %s\n", r.seriesErr)
	} else {
		fmt.Fprintf(tw, "smile_ series on node 1\t%d\n", r.series)
	}
	if r.pageErr != "" {
		fmt.Fprintf(tw, "page\tnot drawn: %s\n", r.pageErr)
	} else {
		fmt.Fprintf(tw, "page\tdrawn in %.0f ms (page's own count), %.0f ms from navigation; %d hosts × %d columns\n",
			r.page.drawMS, ms(r.page.wall), r.page.rows, r.page.columns)
	}
	_ = tw.Flush()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mib(kb int) float64         { return float64(kb) / 1024 }
