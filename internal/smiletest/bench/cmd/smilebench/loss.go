//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// The loss rows: how close smile-client -udp -count's reported loss comes
// to the loss set, with datagrams to smile-server dropped at random
// (nft numgen random) in a network namespace of the harness's own, so
// that nothing on the host changes. They need root (ip netns, nft); not
// root, they are skipped with the reason.

// lossProbes is the datagrams sent per loss row: at 1 ms apiece, about
// 2 s, and a binomial standard deviation of 0.5 to 0.9 points at 5-20 %.
const lossProbes = 2000

// lossSet are the losses set, in per mille of the datagrams to the server.
var lossSet = []int{50, 200}

// lossPort is smile-server's port in the namespace, which holds nothing
// else.
const lossPort = 4242

// lossResult is one loss row.
type lossResult struct {
	setPerMille         int
	sent, received      int
	reported, tolerance float64
	skip                string // why it was not measured
	err                 error
}

// ok reports whether the loss reported is within tolerance of the loss
// set.
func (r lossResult) ok() bool {
	return math.Abs(r.reported-float64(r.setPerMille)/1000) <= r.tolerance
}

// tolerance is four binomial standard deviations of a loss ratio p over
// n datagrams: a correct client misses it about once in 16,000 runs.
func tolerance(p float64, n int) float64 { return 4 * math.Sqrt(p*(1-p)/float64(n)) }

// measureLoss runs the loss rows with bin's programs, or returns them
// skipped (dgramSkip: smile-server answers no datagrams). It returns the
// rows and how many failed.
func measureLoss(bin, dgramSkip string) (out []lossResult, failures int) {
	skip := dgramSkip
	if skip == "" && os.Geteuid() != 0 {
		skip = "needs root for a network namespace of its own (ip netns) and nft in it"
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); skip == "" && err != nil {
			skip = fmt.Sprintf("needs %s: %v", tool, err)
		}
	}
	if skip != "" {
		for _, l := range lossSet {
			out = append(out, lossResult{setPerMille: l, skip: skip})
		}
		return out, 0
	}
	ns := fmt.Sprintf("smilebench-%d", os.Getpid())
	if err := run("ip", "netns", "add", ns); err != nil {
		return append(out, lossResult{err: err}), 1
	}
	defer func() { _ = run("ip", "netns", "del", ns) }()
	if err := run("ip", "-n", ns, "link", "set", "lo", "up"); err != nil {
		return append(out, lossResult{err: err}), 1
	}
	stop, err := startInNetns(ns, bin)
	if err != nil {
		return append(out, lossResult{err: err}), 1
	}
	defer func() {
		if err := stop(); err != nil {
			fmt.Fprintf(os.Stderr, "smilebench: %v\n", err)
		}
	}()
	for _, l := range lossSet {
		r := lossRow(ns, bin, l)
		fmt.Printf("   loss %.1f %% set: %d sent, %d received\n", float64(l)/10, r.sent, r.received)
		if r.err != nil || !r.ok() {
			failures++
		}
		out = append(out, r)
	}
	return out, failures
}

// lossRow sets the loss in ns's input hook and runs smile-client over it.
func lossRow(ns, bin string, perMille int) (r lossResult) {
	r.setPerMille = perMille
	rules := fmt.Sprintf("flush ruleset\ntable inet smilebench {\n\tchain in {\n\t\ttype filter hook input priority 0; policy accept;\n"+
		"\t\tudp dport %d numgen random mod 1000 < %d drop\n\t}\n}\n", lossPort, perMille)
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		r.err = fmt.Errorf("nft in %s: %w: %s", ns, err, bytes.TrimSpace(out))
		return r
	}
	var stdout, stderr bytes.Buffer
	cmd = exec.Command("ip", "netns", "exec", ns, filepath.Join(bin, "smile-client"), "-udp", "-count", strconv.Itoa(lossProbes), "-json",
		"127.0.0.1", strconv.Itoa(lossPort))
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run() // exits 1 on any loss: the summary says how much
	b := bytes.TrimRight(stdout.Bytes(), "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	var s struct {
		Type      string  `json:"type"`
		Sent      int     `json:"sent"`
		Received  int     `json:"received"`
		LossRatio float64 `json:"loss_ratio"`
	}
	if err := json.Unmarshal(b, &s); err != nil || s.Type != "datagrams" || s.Sent == 0 {
		r.err = fmt.Errorf("no datagram summary from smile-client (exit: %v, decode: %v): %s", runErr, err, strings.TrimSpace(stderr.String()))
		return r
	}
	p := float64(perMille) / 1000
	r.sent, r.received, r.reported, r.tolerance = s.Sent, s.Received, s.LossRatio, tolerance(p, s.Sent)
	return r
}

// startInNetns runs bin/smile-server in ns on lossPort, its log in a
// pipe, waits for its start line and returns how to stop it (SIGTERM, a
// clean drain).
func startInNetns(ns, bin string) (stop func() error, err error) {
	cmd := exec.Command("ip", "netns", "exec", ns, filepath.Join(bin, "smile-server"), "-listen", fmt.Sprintf("127.0.0.1:%d", lossPort), "-resolve=false")
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	started := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on ") {
				started <- true
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() { exited <- cmd.Wait() }()
	select {
	case <-started:
	case err := <-exited:
		return nil, fmt.Errorf("smile-server in %s did not start: %v", ns, err)
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("smile-server in %s did not start within 5s", ns)
	}
	return func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				return fmt.Errorf("smile-server in %s: %w", ns, err)
			}
			return nil
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			return fmt.Errorf("smile-server in %s did not stop within 15s of SIGTERM", ns)
		}
	}, nil
}

// run runs a command and says what failed.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// printLoss prints the loss rows: set against reported.
func printLoss(w io.Writer, rows []lossResult) {
	fmt.Fprintf(w, "smile-client -udp -count %d against loss set with nft numgen random in a network namespace of its own (datagrams to the server dropped):\n", lossProbes)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "loss set\tsent\treceived\treported\t|reported - set|\ttolerance (4 SD)\tresult")
	for _, r := range rows {
		set := float64(r.setPerMille) / 10
		switch {
		case r.skip != "":
			fmt.Fprintf(tw, "%.1f %%\tskipped: %s\n", set, r.skip)
		case r.err != nil:
			fmt.Fprintf(tw, "%.1f %%\tfailed: %v\n", set, r.err)
		default:
			res := "ok"
			if !r.ok() {
				res = "OUTSIDE TOLERANCE"
			}
			fmt.Fprintf(tw, "%.1f %%\t%d\t%d\t%.2f %%\t%.2f points\t%.2f points\t%s\n", set, r.sent, r.received, 100*r.reported,
				100*math.Abs(r.reported-float64(r.setPerMille)/1000), 100*r.tolerance, res)
		}
	}
	_ = tw.Flush()
}
