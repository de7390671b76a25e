//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/smile-sockets/smile/internal/smiletest/bench"
	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
)

// options are the orchestrator's flags.
type options struct {
	bin                    string
	rounds, count, workers int
	seqCount               int
	resolveTimeout         time.Duration
	strict                 bool
	meshRounds             int
	// svg is where to draw the comparison; "" for nowhere.
	svg string
	// only is the groups of rows to run (-only); empty for all.
	only map[string]bool
}

// runs reports whether -only selects group.
func (o options) runs(group string) bool { return len(o.only) == 0 || o.only[group] }

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "smilebench: "+format+"\n", args...)
	return 1
}

// orchestrate starts every server, runs the rounds, stops the servers
// (each smile-server must drain, exit 0 and have logged every greeting)
// and prints the report. It returns the exit code.
func orchestrate(o options) int {
	self, err := os.Executable()
	if err != nil {
		return fail("%v", err)
	}
	for _, b := range []string{"smile-server", "smile-client"} {
		if _, err := os.Stat(filepath.Join(o.bin, b)); err != nil {
			return fail("%v (run make build first)", err)
		}
	}
	tmp, err := os.MkdirTemp("", "smilebench")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(tmp)
	e := &env{self: self, bin: o.bin, tmp: tmp}
	defer func() {
		for _, p := range e.procs {
			_ = p.stop()
		}
	}()
	if err := checkSources(); err != nil {
		return fail("%v", err)
	}
	dead, err := dnstest.Listen()
	if err != nil {
		return fail("%v", err)
	}
	defer dead.Close()
	dead.SetSilent(true)
	peers, err := startFarm(e)
	if err != nil {
		return fail("%v", err)
	}
	s, err := startServers(e, dead.Addr, o.resolveTimeout, peers)
	if err != nil {
		return fail("%v", err)
	}
	if o.runs("udp") || o.runs("loss") { // the loss rows too need a smile-server that answers datagrams
		if s.cDgram, s.smileDgram, s.dgramSkip, err = startDatagramServers(e); err != nil {
			return fail("%v", err)
		}
	}
	if o.runs("matrix") {
		if s.matrix, err = startMatrixServer(e); err != nil {
			return fail("%v", err)
		}
	}
	t := newTable(o, e, s)
	meshOnRuns := t.runs(t.byName("meshon"))
	var scrapes *scraper
	var held, heldMatrix *holders
	if meshOnRuns {
		scrapes, held = scrape(s.meshOn), holdMatrix(s.meshOn.web)
	}
	if s.matrix != nil {
		heldMatrix = holdMatrix(s.matrix.web)
	}

	if len(t.rows) > 0 {
		fmt.Printf(">> %d interleaved rounds; %d probes per row and round (row sequential: %d), %d in flight; loopback only\n", o.rounds, o.count, o.seqCount, o.workers)
	}
	sent, failures := runRounds(t.rows, o.rounds)
	var scraped *scraper
	var asked, askedMatrix int
	for _, h := range []struct {
		h     *holders
		p     *proc
		asked *int
	}{{held, s.meshOn, &asked}, {heldMatrix, s.matrix, &askedMatrix}} {
		if h.h == nil {
			continue
		}
		var dialErrs int
		if *h.asked, dialErrs = h.h.stop(); dialErrs > 0 {
			failures++
			fmt.Fprintf(os.Stderr, "smilebench: %d connections to %s's -http failed while %d clients held /matrix.json\n", dialErrs, h.p.name, matrixHolders)
		}
	}
	if meshOnRuns {
		if scraped = scrapes.stop(); scraped.failed > 0 {
			failures++
			fmt.Fprintf(os.Stderr, "smilebench: %d of %d scrapes of %s failed: %s\n", scraped.failed, scraped.n, s.meshOn.name, scraped.firstErr)
		}
	}
	var meshRows []meshResult
	if o.runs("meshscale") {
		var meshFailures int
		meshRows, meshFailures = measureMesh(e, peers, o.meshRounds)
		failures += meshFailures
	}
	var losses []lossResult
	if o.runs("loss") {
		var lossFailures int
		losses, lossFailures = measureLoss(o.bin, s.dgramSkip)
		failures += lossFailures
	}
	// Stop the servers: each smile-server must drain and exit 0, and its
	// log must hold one line per greeting.
	for _, p := range e.procs {
		if err := p.stop(); err != nil {
			failures++
			fmt.Fprintf(os.Stderr, "smilebench: %v\n", err)
		}
	}
	smiles := []*proc{s.def, s.noResolve, s.deadDNS, s.meshOn}
	if s.matrix != nil {
		smiles = append(smiles, s.matrix)
	}
	logNote := map[*proc]string{}
	for _, p := range smiles {
		lines, sample, err := countConnLines(p.log)
		if err != nil {
			return fail("%v", err)
		}
		logNote[p] = sample
		if lines != sent[p] {
			failures++
			fmt.Fprintf(os.Stderr, "smilebench: %s logged %d connections, served %d\n", p.name, lines, sent[p])
		}
	}

	missed := 0
	if len(t.rows) > 0 {
		fmt.Println()
		printTable(os.Stdout, t)
		fmt.Println()
		missed = printTargets(os.Stdout, t.targets)
	}
	fmt.Println()
	failures += printMemory(os.Stdout, []*proc{s.def, s.noResolve, s.deadDNS, s.meshOn, s.matrix, s.smileDgram, s.baseline, s.c, s.cDgram})
	if meshRows != nil {
		printMesh(os.Stdout, meshRows)
	}
	if meshOnRuns {
		fmt.Printf("%s: /metrics scraped %d times during the rounds, while %d clients held /matrix.json unread (%d requests)\n", s.meshOn.name, scraped.n, matrixHolders, asked)
	}
	if s.matrix != nil {
		fmt.Printf("%s: %d clients held /matrix.json of %d peers' rows unread during the rounds (%d requests)\n", s.matrix.name, matrixHolders, rowFarmPeers, askedMatrix)
	}
	if s.smileDgram != nil && s.dgramSkip == "" && o.runs("udp") {
		n, sample, err := countLines(s.smileDgram.log, " INFO Datagram received from ")
		if err != nil {
			return fail("%v", err)
		}
		fmt.Printf("%s logged %d datagrams, e.g. %q\n", s.smileDgram.name, n, sample)
	}
	if o.runs("loss") {
		printLoss(os.Stdout, losses)
	}
	fmt.Println()
	if sent[s.deadDNS] > 0 {
		fmt.Printf("dead DNS stub %s: %d queries, none answered\n", dead.Addr, dead.Queries())
	}
	for _, p := range smiles {
		if sent[p] == 0 { // its rows did not run
			continue
		}
		fmt.Printf("%s logged %d connections, e.g. %q\n", p.name, sent[p], logNote[p])
	}
	if o.svg != "" && len(o.only) > 0 {
		fmt.Printf("drew nothing in %s: -only ran some rows, and the picture is of a whole run\n", o.svg)
	} else if o.svg != "" {
		if err := drawTable(o, t); err != nil {
			return fail("%v", err)
		}
		fmt.Printf("drew conn/s and p99 per row in %s\n", o.svg)
	}
	if failures > 0 {
		fmt.Fprintf(os.Stderr, "smilebench: %d failures\n", failures)
		return 1
	}
	if missed > 0 && o.strict {
		return 1
	}
	return 0
}

// drawTable writes the picture of t's medians to o.svg, saying which run
// they came from.
func drawTable(o options, t table) error {
	note := fmt.Sprintf("make bench, %s: %d interleaved rounds × %d probes per row, %d in flight, loopback; %s/%s, %d CPUs; medians of the rounds",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), o.rounds, o.count, o.workers, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	f, err := os.Create(o.svg)
	if err != nil {
		return fmt.Errorf("can't draw the comparison: %w", err)
	}
	err = writeSVG(f, chart{title: "smile-server against the C loop and the Go baseline", note: note, rows: chartRows(t)})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("can't draw the comparison in %s: %w", o.svg, err)
	}
	return nil
}

// checkSources makes sure the dead-DNS rows can dial from others.
func checkSources() error {
	src, _ := parseSources(others)
	for _, a := range src {
		l, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
		if err != nil {
			return fmt.Errorf("can't bind to %s, which the dead-DNS rows need: %w", a, err)
		}
		_ = l.Close()
	}
	return nil
}

// startServers starts every server the rows load. Every smile-server
// here either looks up nothing, or asks the silent stub, or only ever sees
// 127.0.0.1, which /etc/hosts names: no query reaches the machine's own
// DNS server.
func startServers(e *env, deadDNS string, resolveTimeout time.Duration, peers *farm) (s servers, err error) {
	web, err := freePort()
	if err != nil {
		return s, err
	}
	start := []struct {
		p    **proc
		name string
		run  func(name string, args ...string) (*proc, error)
		args []string
	}{
		{&s.baseline, "baseline", e.startSelf, []string{"-role", "baseline"}},
		{&s.def, "smile default", e.startSmile, nil},
		{&s.noResolve, "smile noresolve", e.startSmile, []string{"-resolve=false"}},
		{&s.deadDNS, "smile deaddns", e.startSmile, []string{"-resolver", deadDNS}},
		{&s.meshOn, "smile meshon", e.startSmile, []string{"-http", web, "-mesh", peers.spec(meshOnPeers),
			"-mesh-interval", meshOnInterval.String(), "-mesh-timeout", (meshOnInterval / 2).String(), "-mesh-node", "bench"}},
		{&s.sequential, "sequential", e.startSelf, []string{"-role", "sequential", "-resolver", deadDNS, "-resolve-timeout", resolveTimeout.String()}},
	}
	if path, err := bench.BuildCServer(e.tmp); err != nil {
		s.cSkip = err.Error()
	} else if s.c, err = e.startProgram("C loop", path, bench.Greeting); err != nil {
		return s, err
	}
	for _, x := range start {
		if *x.p, err = x.run(x.name, x.args...); err != nil {
			return s, err
		}
	}
	s.meshOn.web = web
	return s, nil
}

// startDatagramServers starts the C datagram loop and a smile-server
// whose datagrams are measured, and checks that it answers one: skip says
// why the datagram rows are not measured (no C compiler, a smile-server
// without datagrams).
func startDatagramServers(e *env) (c, smile *proc, skip string, err error) {
	if smile, err = e.startSmile("smile udp"); err != nil {
		return nil, nil, "", err
	}
	if s := bench.DatagramLoop(context.Background(), smile.addr, 1, 1, dgramSize, time.Second, []byte(bench.Greeting)); s.OKProbes != 1 {
		return nil, smile, fmt.Sprintf("%s answered no datagram on %s within 1s (%s)", filepath.Join(e.bin, "smile-server"), smile.addr, s.FirstError), nil
	}
	path, err := bench.BuildCDatagramServer(e.tmp)
	if err != nil {
		return nil, smile, err.Error(), nil
	}
	c, err = e.startProgram("C datagram loop", path, bench.Greeting)
	return c, smile, "", err
}

// matrixReady bounds the wait for the first matrix of every farm peer's
// row: the first round, then a gathering.
const matrixReady = 3*meshOnInterval + 10*time.Second

// matrixMemLimit is the matrix server's GOMEMLIMIT, in MiB: the memory
// limit that deploy/kubernetes/base/server-daemonset.yaml gives a node
// and sets GOMEMLIMIT to, which it must keep under whatever its -http
// clients do (docs/mesh.md).
const matrixMemLimit = 64

// startMatrixServer starts the row farm and a smile-server -mesh over it
// with -http, as deployed (default interval, GOMEMLIMIT of the
// DaemonSet's limit), and waits for a matrix holding every farm peer's
// row.
func startMatrixServer(e *env) (*proc, error) {
	web, err := freePort()
	if err != nil {
		return nil, err
	}
	f, err := startRowFarm(e, web)
	if err != nil {
		return nil, err
	}
	p, err := e.startSmileLimited("smile matrix", matrixMemLimit, "-http", web, "-mesh", f.spec(rowFarmPeers), "-mesh-node", "bench")
	if err != nil {
		return nil, err
	}
	p.web = web
	t0 := time.Now()
	size, err := waitMatrix(web, rowFarmPeers, matrixReady)
	if err != nil {
		return nil, err
	}
	fmt.Printf(">> %s: /matrix.json holds every one of %d farm peers' rows after %.1fs (%d bytes)\n", p.name, rowFarmPeers, time.Since(t0).Seconds(), size)
	return p, nil
}

// runRounds runs a short warm-up pass, so that no row pays for cold caches
// and page faults in its first round, then the rounds. It returns how many
// probes each server was sent and how many runs failed.
func runRounds(rows []*row, rounds int) (sent map[*proc]int, failures int) {
	sent = map[*proc]int{}
	for _, rw := range rows {
		if rw.role == contrast || rw.skip != "" {
			continue
		}
		s, err := rw.loader.run(rw.target.addr, min(2000, rw.probes))
		sent[rw.target] += s.Probes
		if err != nil || s.FailedProbes > 0 {
			failures++
			fmt.Fprintf(os.Stderr, "smilebench: warm-up %s: %d failed: %v %s\n", rw, s.FailedProbes, err, s.FirstError)
		}
	}
	for r := 1; r <= rounds; r++ {
		var line []string
		for _, rw := range rows {
			if rw.skip != "" {
				continue
			}
			stop := make(chan struct{})
			peak := sampleRSS(rw.target, stop)
			s, err := rw.loader.run(rw.target.addr, rw.probes)
			close(stop)
			rw.target.addRSS(r, <-peak)
			sent[rw.target] += s.Probes
			if err != nil || s.FailedProbes > 0 || s.OKProbes != rw.probes {
				failures++
				fmt.Fprintf(os.Stderr, "smilebench: round %d %s: %d ok, %d failed of %d: %v %s\n",
					r, rw, s.OKProbes, s.FailedProbes, rw.probes, err, s.FirstError)
			}
			rw.results = append(rw.results, s)
			line = append(line, fmt.Sprintf("%s %.0f/s", rw.name, s.Rate))
		}
		if len(line) > 0 {
			fmt.Printf("   round %d: %s\n", r, strings.Join(line, ", "))
		}
	}
	return sent, failures
}
