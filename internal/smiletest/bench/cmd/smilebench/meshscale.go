//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smile-sockets/smile/internal/smiletest/procfs"
	"github.com/smile-sockets/smile/mesh"
)

// The mesh rows: what the mesh costs the greetings (row meshon, in the
// table), and what one node probing the whole farm costs per round.

// The meshon row's mesh: as deployed by default (a hundred peers, the
// default interval), with a scrape every second, fifteen times as often
// as Prometheus's default.
const (
	meshOnPeers    = mesh.DefaultMaxPeers
	meshOnInterval = mesh.DefaultInterval
	scrapeEvery    = time.Second
)

// meshScale is one mesh-scale row: a node probing peers, k a round.
type meshScale struct {
	peers, k int
	interval time.Duration
}

// meshScales are the mesh-scale rows, as data: the whole farm in every
// round, and in turns of -mesh-peers' default.
var meshScales = []meshScale{
	{peers: farms * farmEach, k: farms * farmEach, interval: 2 * time.Second},
	{peers: farms * farmEach, k: mesh.DefaultMaxPeers, interval: 2 * time.Second},
}

// meshResult is what a mesh-scale row measured.
type meshResult struct {
	meshScale
	rounds      int
	cpuPerRound time.Duration
	roundMS     []float64 // each measured round's own time
	rssPeakKB   int
	cellsOK     int
	cells       int
	err         error
}

// scraper fetches a server's /metrics every scrapeEvery, as Prometheus
// would, while the rounds run.
type scraper struct {
	stopc    chan struct{}
	done     chan struct{}
	n        int
	failed   int
	firstErr string
}

func scrape(p *proc) *scraper {
	s := &scraper{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(scrapeEvery)
		defer t.Stop()
		for {
			select {
			case <-s.stopc:
				return
			case <-t.C:
			}
			s.n++
			body, err := get("http://" + p.web + "/metrics")
			if err == nil && !strings.Contains(body, "smile_greetings_total ") {
				err = fmt.Errorf("no smile_greetings_total in /metrics")
			}
			if err != nil {
				if s.failed == 0 {
					s.firstErr = err.Error()
				}
				s.failed++
			}
		}
	}()
	return s
}

func (s *scraper) stop() *scraper {
	close(s.stopc)
	<-s.done
	return s
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func get(url string) (string, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return string(b), err
}

// measureMesh runs each mesh-scale row: a smile-server whose -mesh lists
// the farm's peers, measured over rounds rounds after two to warm up (the
// first asks every peer for a row it does not have). It returns the rows
// and how many failed.
func measureMesh(e *env, f *farm, rounds int) (out []meshResult, failures int) {
	for _, sc := range meshScales {
		r := measureOne(e, f, sc, rounds)
		if r.err != nil {
			failures++
			fmt.Printf("   mesh %d peers, %d a round: %v\n", sc.peers, sc.k, r.err)
		} else {
			fmt.Printf("   mesh %d peers, %d a round: %d rounds, %.1f ms CPU a round\n", sc.peers, sc.k, r.rounds, float64(r.cpuPerRound.Microseconds())/1000)
		}
		out = append(out, r)
	}
	return out, failures
}

func measureOne(e *env, f *farm, sc meshScale, rounds int) (res meshResult) {
	res.meshScale = sc
	web, err := freePort()
	if err != nil {
		res.err = err
		return res
	}
	p, err := e.startSmile(fmt.Sprintf("smile mesh %d-%d", sc.peers, sc.k), "-resolve=false", "-http", web,
		"-mesh", f.spec(sc.peers), "-mesh-peers", strconv.Itoa(sc.k), "-mesh-interval", sc.interval.String(),
		"-mesh-timeout", (sc.interval / 2).String(), "-mesh-node", "bench")
	if err != nil {
		res.err = err
		return res
	}
	defer func() {
		if err := p.stop(); err != nil && res.err == nil {
			res.err = err
		}
	}()
	p.web = web
	row := func() (mesh.Row, error) {
		var r mesh.Row
		body, err := get("http://" + web + "/mesh.json")
		if err == nil {
			err = json.Unmarshal([]byte(body), &r)
		}
		return r, err
	}
	// Wait for the warm-up rounds, then measure from one round's end to
	// another's.
	waitRound := func(after uint64) (mesh.Row, error) {
		deadline := time.Now().Add(time.Duration(after+2) * 2 * sc.interval)
		for {
			r, err := row()
			if err != nil || r.Round > after {
				return r, err
			}
			if time.Now().After(deadline) {
				return r, fmt.Errorf("no round %d within %v", after+1, time.Until(deadline))
			}
			// A quarter of a round: each round's time is seen, and the
			// node serves its row (some 200 bytes a peer) four times a
			// round, which the CPU figure includes.
			time.Sleep(sc.interval / 4)
		}
	}
	first, err := waitRound(1)
	if err != nil {
		res.err = err
		return res
	}
	u0, err := procfs.ReadUsage(p.cmd.Process.Pid)
	if err != nil {
		res.err = err
		return res
	}
	stop := make(chan struct{})
	peak := sampleRSS(p, stop)
	last := first
	for range rounds {
		if last, err = waitRound(last.Round); err != nil {
			break
		}
		res.roundMS = append(res.roundMS, last.RoundMS)
	}
	close(stop)
	res.rssPeakKB = int(<-peak)
	if err != nil {
		res.err = err
		return res
	}
	u1, err := procfs.ReadUsage(p.cmd.Process.Pid)
	if err != nil {
		res.err = err
		return res
	}
	res.rounds = int(last.Round - first.Round)
	res.cpuPerRound = (u1.CPU - u0.CPU) / time.Duration(res.rounds)
	res.cells = len(last.Destinations)
	for _, c := range last.Destinations {
		if c.OK {
			res.cellsOK++
		}
	}
	// Every peer is probed within ceil(peers/k) rounds.
	covered := last.Round >= uint64((sc.peers+sc.k-1)/sc.k)
	if res.cellsOK != res.cells || (covered && res.cells != sc.peers) {
		res.err = fmt.Errorf("%d of %d peers probed and %d ok after %d rounds", res.cells, sc.peers, res.cellsOK, last.Round)
	}
	return res
}

// printMesh prints the mesh-scale rows.
func printMesh(w io.Writer, rows []meshResult) {
	fmt.Fprintf(w, "one mesh node probing the farm (%d processes × %d listeners on 127.1.0.0/16), after two warm-up rounds:\n", farms, farmEach)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "peers\tper round\tinterval\trounds\tCPU a round\tround ms (median)\tround ms (max)\tRSS peak\tcells ok")
	for _, r := range rows {
		if r.err != nil {
			fmt.Fprintf(tw, "%d\t%d\t%v\tfailed: %v\n", r.peers, r.k, r.interval, r.err)
			continue
		}
		ms := slices.Clone(r.roundMS)
		fmt.Fprintf(tw, "%d\t%d\t%v\t%d\t%.1f ms\t%.1f\t%.1f\t%.1f MB\t%d/%d\n", r.peers, r.k, r.interval, r.rounds,
			float64(r.cpuPerRound.Microseconds())/1000, median(ms), slices.Max(r.roundMS), float64(r.rssPeakKB)/1024, r.cellsOK, r.cells)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "   CPU: user+system of the node over the measured rounds ÷ rounds (10 ms ticks); round: lookup, probes and row fetches")
}
