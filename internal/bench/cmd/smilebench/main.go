// Command smilebench measures the built smile-server and smile-client on
// loopback against reference programs of its own, in interleaved rounds so
// that drift on a shared machine cancels, and prints medians and ratios.
//
//	go run ./internal/bench/cmd/smilebench -bin bin
//
// The reference servers and the minimal load loop run as child processes
// of this same binary (-role), so that every server and every client is a
// process of its own, as smile-server and smile-client are. Nothing is
// sent anywhere but 127.0.0.0/8.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/smile-sockets/smile/internal/bench"
	"github.com/smile-sockets/smile/internal/resolver"
)

func main() {
	role := flag.String("role", "", "internal: run as baseline, sequential or dial")
	bin := flag.String("bin", "bin", "directory holding smile-server and smile-client")
	rounds := flag.Int("rounds", 7, "interleaved rounds")
	count := flag.Int("count", 12000, "probes per round and row")
	workers := flag.Int("workers", 8, "probes in flight")
	seqCount := flag.Int("seq-count", 2, "probes per round for the sequential server (each costs the resolve timeout)")
	resolveTimeout := flag.Duration("resolve-timeout", 2*time.Second, "reverse-lookup bound of the sequential server (smile-server's default)")
	strict := flag.Bool("strict", false, "exit 1 when a ratio misses its target too")
	// Child roles.
	addr := flag.String("addr", "", "dial: server address")
	sources := flag.String("sources", "", "dial: source addresses FIRST-LAST, e.g. 127.0.0.2-127.0.0.9")
	readTimeout := flag.Duration("read-timeout", 5*time.Second, "dial: bound on reading one greeting")
	dns := flag.String("resolver", "", "sequential: DNS server for reverse lookups")
	flag.Parse()

	switch *role {
	case "":
		os.Exit(orchestrate(*bin, *rounds, *count, *workers, *seqCount, *resolveTimeout, *strict))
	case "baseline", "sequential":
		os.Exit(serveRole(*role, *dns, *resolveTimeout))
	case "dial":
		os.Exit(dialRole(*addr, *count, *workers, *sources, *readTimeout))
	}
	fmt.Fprintf(os.Stderr, "smilebench: unknown -role %q\n", *role)
	os.Exit(2)
}

// serveRole runs a reference server on 127.0.0.1, prints its address and
// serves until stdin closes (the parent stopped or died) or SIGTERM.
func serveRole(role, dns string, timeout time.Duration) int {
	// Plain TCP like smile-server's own socket: Go's net.Listen would
	// make an MPTCP listener here, a different kernel path.
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "smilebench: %v\n", err)
		return 1
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = ln.Close()
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		_ = ln.Close()
	}()
	greeting := []byte(bench.Greeting)
	if role == "baseline" {
		err = bench.ServeBaseline(ln, greeting)
	} else {
		err = bench.ServeSequential(ln, greeting, resolver.New(dns), timeout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "smilebench: %v\n", err)
		return 1
	}
	return 0
}

// dialRole is the minimal load loop; it prints one JSON summary.
func dialRole(addr string, count, workers int, sources string, readTimeout time.Duration) int {
	src, err := parseSources(sources)
	if err != nil {
		fmt.Fprintf(os.Stderr, "smilebench: %v\n", err)
		return 2
	}
	if ap, err := netip.ParseAddrPort(addr); err != nil || !ap.Addr().IsLoopback() {
		fmt.Fprintf(os.Stderr, "smilebench: -addr %q: want a loopback IP:PORT\n", addr)
		return 2
	}
	s := bench.DialLoop(context.Background(), addr, count, workers, src, readTimeout, []byte(bench.Greeting))
	_ = json.NewEncoder(os.Stdout).Encode(s)
	if s.Failed > 0 {
		return 1
	}
	return 0
}

func parseSources(s string) ([]netip.Addr, error) {
	if s == "" {
		return nil, nil
	}
	first, last, _ := strings.Cut(s, "-")
	a, err := netip.ParseAddr(first)
	if err != nil {
		return nil, err
	}
	b := a
	if last != "" {
		if b, err = netip.ParseAddr(last); err != nil {
			return nil, err
		}
	}
	var out []netip.Addr
	for x := a; x.Compare(b) <= 0 && len(out) < 256; x = x.Next() {
		if !x.IsLoopback() {
			return nil, fmt.Errorf("source %s is not loopback", x)
		}
		out = append(out, x)
	}
	return out, nil
}

// proc is one server child process.
type proc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
	log   string // smile-server's log file
	smile bool
	// exited is closed when the process has been waited for.
	exited chan struct{}
	// peak RSS in KiB, per round
	rss []int64
}

type env struct {
	self, bin, tmp string
	procs          []*proc
}

// cleanEnv drops SMILE_* variables so that only the flags given apply.
func cleanEnv() []string {
	var out []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "SMILE_") {
			out = append(out, e)
		}
	}
	return out
}

// freePort asks the kernel for a free port on 127.0.0.1 (smile-server
// wants a real port number).
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startSmile runs bin/smile-server on a free port of 127.0.0.1, its log in
// a file, and waits for its start line.
func (e *env) startSmile(name string, args ...string) (p *proc, err error) {
	for range 3 { // the free port may be taken in between
		if p, err = e.startSmileOnce(name, args...); err == nil {
			return p, nil
		}
	}
	return nil, err
}

func (e *env) startSmileOnce(name string, args ...string) (*proc, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(e.tmp, strings.ReplaceAll(name, " ", "_")+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(filepath.Join(e.bin, "smile-server"), append([]string{"-listen", addr}, args...)...)
	cmd.Env = cleanEnv()
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // the exit status is in cmd.ProcessState
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(logPath)
		if bytes.Contains(b, []byte("listening on "+addr)) {
			p := &proc{name: name, cmd: cmd, log: logPath, smile: true, addr: addr, exited: exited}
			e.procs = append(e.procs, p)
			return p, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("%s did not start: %s", name, strings.TrimSpace(stderr.String()))
		case <-time.After(10 * time.Millisecond):
		}
	}
	_ = cmd.Process.Kill()
	<-exited
	return nil, fmt.Errorf("%s did not start within 5s", name)
}

// startSelf runs this binary in a server role and reads its address.
func (e *env) startSelf(name string, args ...string) (*proc, error) {
	cmd := exec.Command(e.self, args...)
	cmd.Env = cleanEnv()
	cmd.Stderr = io.Discard
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	e.procs = append(e.procs, p)
	go func() { _ = cmd.Wait(); close(p.exited) }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("%s did not start: %w", name, err)
	}
	p.addr = strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return p, nil
}

// stop ends a server: SIGTERM, and for smile-server a clean drain (exit 0).
func (p *proc) stop() error {
	select {
	case <-p.exited:
	default:
		if p.stdin != nil {
			_ = p.stdin.Close()
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
			return fmt.Errorf("%s did not stop within 15s of SIGTERM", p.name)
		}
	}
	if !p.cmd.ProcessState.Success() {
		return fmt.Errorf("%s: %v", p.name, p.cmd.ProcessState)
	}
	return nil
}

// rssKiB reads VmRSS of a process.
func rssKiB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// sampleRSS samples p's RSS every 20 ms until stop is closed and returns
// the peak.
func sampleRSS(p *proc, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		peak := rssKiB(p.cmd.Process.Pid)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				peak = max(peak, rssKiB(p.cmd.Process.Pid))
			case <-stop:
				out <- max(peak, rssKiB(p.cmd.Process.Pid))
				return
			}
		}
	}()
	return out
}

// row is one line of the table: a server under one loader.
type row struct {
	id, server, loader string
	target             *proc
	run                func(addr string, n int) (bench.Summary, error)
	results            []bench.Summary
	probes             int // per round
}

func orchestrate(bin string, rounds, count, workers, seqCount int, resolveTimeout time.Duration, strict bool) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "smilebench: "+format+"\n", args...)
		return 1
	}
	self, err := os.Executable()
	if err != nil {
		return fail("%v", err)
	}
	for _, b := range []string{"smile-server", "smile-client"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return fail("%v (run make build first)", err)
		}
	}
	tmp, err := os.MkdirTemp("", "smilebench")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(tmp)
	e := &env{self: self, bin: bin, tmp: tmp}
	defer func() {
		for _, p := range e.procs {
			_ = p.stop()
		}
	}()

	// Peers other than 127.0.0.1 are not in /etc/hosts, so their reverse
	// lookups go to the DNS server; the dial loop binds to these.
	const others = "127.0.0.2-127.0.0.9"
	src, _ := parseSources(others)
	for _, a := range src {
		l, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
		if err != nil {
			return fail("can't bind to %s, which the dead-DNS rows need: %v", a, err)
		}
		_ = l.Close()
	}
	dead, err := bench.StartSilentDNS()
	if err != nil {
		return fail("%v", err)
	}
	defer dead.Close()

	// Every smile-server here either looks up nothing, or asks the silent
	// stub, or only ever sees 127.0.0.1, which /etc/hosts names: no query
	// reaches the machine's own DNS server.
	base, err := e.startSelf("baseline", "-role", "baseline")
	if err != nil {
		return fail("%v", err)
	}
	def, err := e.startSmile("smile default")
	if err != nil {
		return fail("%v", err)
	}
	nores, err := e.startSmile("smile noresolve", "-resolve=false")
	if err != nil {
		return fail("%v", err)
	}
	deadSrv, err := e.startSmile("smile deaddns", "-resolver", dead.Addr)
	if err != nil {
		return fail("%v", err)
	}
	seq, err := e.startSelf("sequential", "-role", "sequential", "-resolver", dead.Addr, "-resolve-timeout", resolveTimeout.String())
	if err != nil {
		return fail("%v", err)
	}

	client := func() func(string, int) (bench.Summary, error) {
		return func(addr string, n int) (bench.Summary, error) {
			host, port, _ := net.SplitHostPort(addr)
			return runClient(filepath.Join(bin, "smile-client"), tmp, "-count", strconv.Itoa(n), "-concurrency", strconv.Itoa(workers),
				"-json", "-expect", bench.Greeting, host, port)
		}
	}
	dial := func(sources string, readTimeout time.Duration) func(string, int) (bench.Summary, error) {
		return func(addr string, n int) (bench.Summary, error) {
			args := []string{"-role", "dial", "-addr", addr, "-count", strconv.Itoa(n), "-workers", strconv.Itoa(workers),
				"-read-timeout", readTimeout.String()}
			if sources != "" {
				args = append(args, "-sources", sources)
			}
			return runJSON(exec.Command(self, args...))
		}
	}
	seqTimeout := time.Duration(seqCount+2) * (resolveTimeout + time.Second)
	// Rows that are compared run back to back (1 and 2, 1 and 6, 4r and 4),
	// and ratios are taken within a round, then the median of the rounds.
	rows := []*row{
		{id: "1", server: "baseline: accept, write, close (harness)", loader: "smile-client", target: base, run: client(), probes: count},
		{id: "2", server: "smile-server (log to file, rDNS via /etc/hosts)", loader: "smile-client", target: def, run: client(), probes: count},
		{id: "6", server: "baseline (as row 1)", loader: "dial loop from 127.0.0.1", target: base, run: dial("", 5*time.Second), probes: count},
		{id: "4r", server: "smile-server (as row 2)", loader: "dial loop from 127.0.0.1", target: def, run: dial("", 5*time.Second), probes: count},
		{id: "4", server: "smile-server -resolver <dead stub>", loader: "dial loop from " + others, target: deadSrv, run: dial(others, 5*time.Second), probes: count},
		{id: "3", server: "smile-server -resolve=false", loader: "smile-client", target: nores, run: client(), probes: count},
		{id: "5", server: "sequential, lookup inline, <dead stub>", loader: "dial loop from " + others, target: seq, run: dial(others, seqTimeout), probes: seqCount},
	}

	fmt.Printf(">> %d interleaved rounds; %d probes per row and round (row 5: %d), %d in flight; loopback only\n", rounds, count, seqCount, workers)
	failures := 0
	sent := map[*proc]int{}
	// A short pass first, so that no row pays for cold caches and page
	// faults in its first round.
	for _, rw := range rows {
		if rw.id == "5" {
			continue
		}
		s, err := rw.run(rw.target.addr, min(2000, rw.probes))
		sent[rw.target] += s.Probes
		if err != nil || s.Failed > 0 {
			failures++
			fmt.Fprintf(os.Stderr, "smilebench: warm-up row %s (%s, %s): %d failed: %v %s\n", rw.id, rw.server, rw.loader, s.Failed, err, s.FirstError)
		}
	}
	for r := 1; r <= rounds; r++ {
		var line []string
		for _, rw := range rows {
			stop := make(chan struct{})
			peak := sampleRSS(rw.target, stop)
			s, err := rw.run(rw.target.addr, rw.probes)
			close(stop)
			rw.target.addRSS(r, <-peak)
			sent[rw.target] += s.Probes
			if err != nil || s.Failed > 0 || s.OK != rw.probes {
				failures++
				fmt.Fprintf(os.Stderr, "smilebench: round %d row %s (%s, %s): %d ok, %d failed of %d: %v %s\n",
					r, rw.id, rw.server, rw.loader, s.OK, s.Failed, rw.probes, err, s.FirstError)
			}
			rw.results = append(rw.results, s)
			line = append(line, fmt.Sprintf("%s %.0f/s", rw.id, s.Rate))
		}
		fmt.Printf("   round %d: %s\n", r, strings.Join(line, ", "))
	}

	// Stop the servers: each smile-server must drain and exit 0, and its
	// log must hold one line per greeting.
	for _, p := range e.procs {
		if err := p.stop(); err != nil {
			failures++
			fmt.Fprintf(os.Stderr, "smilebench: %v\n", err)
		}
	}
	logNote := map[*proc]string{}
	for _, p := range []*proc{def, nores, deadSrv} {
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

	med := func(rw *row, f func(bench.Summary) float64) float64 {
		v := make([]float64, len(rw.results))
		for i, s := range rw.results {
			v[i] = f(s)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	rate := func(s bench.Summary) float64 { return s.Rate }
	p50 := func(s bench.Summary) float64 { return s.P50MS }
	p99 := func(s bench.Summary) float64 { return s.P99MS }
	byID := map[string]*row{}
	for _, rw := range rows {
		byID[rw.id] = rw
	}
	// ratio is the median over the rounds of a's value over b's in the same
	// round, which cancels the drift between rounds on a shared machine.
	ratio := func(a, b *row, f func(bench.Summary) float64) float64 {
		v := make([]float64, len(a.results))
		for i := range a.results {
			v[i] = f(a.results[i]) / f(b.results[i])
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}

	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "row\tserver\tloader\t  conn/s\t  p50 ms\t    p99 ms\tconn/s vs 1\tp99 vs 1")
	for _, id := range []string{"1", "2", "3", "4", "4r", "5", "6"} {
		rw := byID[id]
		r := fmt.Sprintf("%8.0f", med(rw, rate))
		if med(rw, rate) < 100 {
			r = fmt.Sprintf("%8.2f", med(rw, rate))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%8.3f\t%10.3f\t%10.3f×\t%7.2f×\n", rw.id, rw.server, rw.loader,
			r, med(rw, p50), med(rw, p99), ratio(rw, byID["1"], rate), ratio(rw, byID["1"], p99))
	}
	_ = tw.Flush()
	fmt.Println("   medians of the rounds; ratios: median of the per-round ratios; latency: connect until the greeting's EOF")

	fmt.Println()
	tw = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	missed := 0
	check := func(what string, got, want float64, atLeast bool) {
		ok := got >= want
		op := "≥"
		if !atLeast {
			ok, op = got <= want, "≤"
		}
		res := "ok"
		if !ok {
			res, missed = "BELOW TARGET", missed+1
		}
		fmt.Fprintf(tw, "%s\t%.2f×\t(target %s %.2f×)\t%s\n", what, got, op, want, res)
	}
	check("smile-server conn/s vs baseline (row 2 ÷ row 1)", ratio(byID["2"], byID["1"], rate), 0.90, true)
	check("smile-server p99 vs baseline (row 2 ÷ row 1)", ratio(byID["2"], byID["1"], p99), 2, false)
	check("smile-server -resolve=false conn/s vs baseline (row 3 ÷ row 1)", ratio(byID["3"], byID["1"], rate), 0.90, true)
	check("dead DNS vs smile-server default, same loader (row 4 ÷ row 4r)", ratio(byID["4"], byID["4r"], rate), 0.90, true)
	check("dead DNS vs smile-server default (row 4 ÷ row 2)", ratio(byID["4"], byID["2"], rate), 0.90, true)
	check("smile-client vs minimal dial loop, same server (row 1 ÷ row 6)", ratio(byID["1"], byID["6"], rate), 0.90, true)
	fmt.Fprintf(tw, "sequential server vs smile-server dead DNS (row 5 ÷ row 4)\t%.5f×\t\t\n", ratio(byID["5"], byID["4"], rate))
	_ = tw.Flush()

	fmt.Println()
	fmt.Println("smile-server memory (VmRSS, peak per round, sampled every 20 ms):")
	tw = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "server\tmax\tround 1\tlast round\trounds\tresult")
	for _, p := range []*proc{def, nores, deadSrv, base} {
		res := "ok"
		peak := slices.Max(p.rss)
		first, last := p.rss[0], p.rss[len(p.rss)-1]
		switch {
		case !p.smile:
			res = "(reference)"
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

	fmt.Println()
	fmt.Printf("dead DNS stub %s: %d queries, none answered\n", dead.Addr, dead.Queries())
	for _, p := range []*proc{def, nores, deadSrv} {
		fmt.Printf("%s logged %d connections, e.g. %q\n", p.name, sent[p], logNote[p])
	}
	if failures > 0 {
		fmt.Fprintf(os.Stderr, "smilebench: %d failures\n", failures)
		return 1
	}
	if missed > 0 && strict {
		return 1
	}
	return 0
}

func (p *proc) addRSS(round int, kib int64) {
	for len(p.rss) < round {
		p.rss = append(p.rss, 0)
	}
	p.rss[round-1] = max(p.rss[round-1], kib)
}

// countConnLines counts a smile-server log's connection lines and returns
// the last one without its timestamp.
func countConnLines(path string) (int, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	n, last := 0, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if _, after, ok := strings.Cut(sc.Text(), " INFO Connection received from "); ok {
			n++
			last = "Connection received from " + after
		}
	}
	return n, last, sc.Err()
}

// runClient runs smile-client and reads the summary object, the last line
// of its -json output.
func runClient(client, tmp string, args ...string) (bench.Summary, error) {
	out, err := os.CreateTemp(tmp, "client")
	if err != nil {
		return bench.Summary{}, err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd := exec.Command(client, args...)
	cmd.Env = cleanEnv()
	cmd.Stdout = out
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	runErr := cmd.Run()
	b, err := os.ReadFile(out.Name())
	if err != nil {
		return bench.Summary{}, err
	}
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	var s bench.Summary
	if err := json.Unmarshal(b, &s); err != nil || !s.Summary {
		if err == nil {
			err = errors.New("last line is not a summary")
		}
		return s, fmt.Errorf("no summary from smile-client (exit: %w, decode: %w): %s", runErr, err, stderr.String())
	}
	if runErr != nil {
		return s, fmt.Errorf("smile-client: %w: %s", runErr, firstLine(stderr.String()))
	}
	return s, nil
}

// runJSON runs a dial loop child and reads its summary.
func runJSON(cmd *exec.Cmd) (bench.Summary, error) {
	cmd.Env = cleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var s bench.Summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		return s, fmt.Errorf("no summary from the dial loop (exit: %w, decode: %w): %s", runErr, err, stderr.String())
	}
	if runErr != nil && s.Failed == 0 {
		return s, runErr
	}
	return s, nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
