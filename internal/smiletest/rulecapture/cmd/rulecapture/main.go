// Command rulecapture records the series the alert rules of
// deploy/prometheus/smile-rules.yml are tested on, from a real fault:
// four smile-server processes as mesh nodes on loopback (node-a to node-d
// on 127.0.0.61 to .64, greeting on 7890, -http on 8080), scraped as
// Prometheus would every -scrape, node-a's matrix gathered before each
// scrape as an open page would. At -freeze node-d is stopped with SIGSTOP
// (its peers' probes time out, its /metrics does not answer), at -kill it
// is killed (the probes are refused: a failure that changes class), and at
// -isolate node-c restarts with another greeting, so that every probe it
// makes fails (mismatch, and refused towards node-d). It writes the
// scrapes as the input_series of the promtool test file -out, between its
// "BEGIN captured" and "END captured" lines, leaving the rest (the
// expected alerts) as it is:
//
//	go run ./internal/smiletest/rulecapture/cmd/rulecapture
//
// A promtool test starts at time 0, so the capture's start is 0: Unix
// timestamps in values (the *_timestamp_seconds series) are made relative
// to it, as the rules compare them with time(). A node that stops
// answering gets Prometheus's staleness marker at its first failed scrape,
// as a real scrape gives its series.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// kept are the metrics the rules read, and so the ones captured.
var kept = []string{"smile_mesh_probe_success", "smile_mesh_probe_failing_since_timestamp_seconds",
	"smile_mesh_destinations", "smile_mesh_matrix_stale_rows", "smile_mesh_matrix_timestamp_seconds",
	"smile_mesh_peers", "smile_mesh_rounds_total"}

// job is the job label the ServiceMonitor of deploy/kubernetes gives the
// targets: the headless Service's name.
const job = "smile-server-headless"

type node struct {
	name, ip string
	cmd      *exec.Cmd
}

func (n *node) instance() string { return n.ip + ":8080" }

func main() {
	out := flag.String("out", "deploy/prometheus/smile-rules.test.yml", "the promtool test file whose captured input_series to replace")
	scrape := flag.Duration("scrape", 15*time.Second, "between scrapes, and the test's interval")
	freezeAt := flag.Duration("freeze", time.Minute, "when node-d is stopped (SIGSTOP)")
	killAt := flag.Duration("kill", 2*time.Minute, "when node-d is killed")
	isolateAt := flag.Duration("isolate", 3*time.Minute, "when node-c restarts with another greeting")
	duration := flag.Duration("duration", 7*time.Minute, "how long to capture")
	flag.Parse()
	if err := run(*out, *scrape, []time.Duration{*freezeAt, *killAt, *isolateAt}, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "rulecapture:", err)
		os.Exit(1)
	}
}

func run(out string, scrape time.Duration, at []time.Duration, duration time.Duration) error {
	bin := filepath.Join(os.TempDir(), fmt.Sprintf("rulecapture-smile-server-%d", os.Getpid()))
	if b, err := exec.Command("go", "build", "-o", bin, "./cmd/smile-server").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/smile-server (run from the module's root): %v: %s", err, b)
	}
	defer os.Remove(bin)
	nodes := []*node{{name: "node-a", ip: "127.0.0.61"}, {name: "node-b", ip: "127.0.0.62"},
		{name: "node-c", ip: "127.0.0.63"}, {name: "node-d", ip: "127.0.0.64"}}
	var peers []string
	for _, n := range nodes {
		peers = append(peers, n.ip+":7890")
	}
	spec := strings.Join(peers, ",")
	start := func(n *node, extra ...string) error {
		n.cmd = exec.Command(bin, append([]string{"-listen", n.ip + ":7890", "-http", n.instance(), "-mesh", spec,
			"-mesh-node", n.name, "-mesh-interval", "2s", "-mesh-timeout", "500ms", "-resolve=false"}, extra...)...)
		n.cmd.Stderr = os.Stderr
		return n.cmd.Start()
	}
	for _, n := range nodes {
		if err := start(n); err != nil {
			return err
		}
	}
	defer func() {
		for _, n := range nodes {
			if n.cmd.ProcessState == nil {
				_ = n.cmd.Process.Kill()
				_ = n.cmd.Wait()
			}
		}
	}()
	d, c := nodes[3], nodes[2]
	faults := []struct {
		what string
		do   func() error
	}{
		{"node-d frozen (SIGSTOP)", func() error { return d.cmd.Process.Signal(syscall.SIGSTOP) }},
		{"node-d killed", func() error { _ = d.cmd.Process.Kill(); _ = d.cmd.Wait(); return nil }},
		{"node-c restarted with another greeting", func() error {
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
			if err := c.cmd.Wait(); err != nil {
				return fmt.Errorf("node-c: %w", err)
			}
			return start(c, "-greeting", "Smile from elsewhere")
		}},
	}

	// Scraping starts once every node serves, as a Prometheus that found
	// them running would.
	for _, n := range nodes {
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := get("http://" + n.instance() + "/healthz"); err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s does not serve /healthz on %s", n.name, n.instance())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t0 := time.Now()
	steps := int(duration / scrape)
	series := map[string][]*float64{} // series → value at each step, nil: absent
	next := 0                         // of faults
	for k := 0; k <= steps; k++ {
		time.Sleep(time.Until(t0.Add(time.Duration(k) * scrape)))
		for next < len(faults) && time.Since(t0) >= at[next] {
			if err := faults[next].do(); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "%v: %s\n", time.Since(t0).Round(time.Millisecond), faults[next].what)
			next++
		}
		// The page open on node-a: a gathering before the scrape.
		_, _ = get("http://" + nodes[0].instance() + "/matrix.json")
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				samples := scrapeNode(n)
				mu.Lock()
				defer mu.Unlock()
				for s, v := range samples {
					if strings.Contains(s, "_timestamp_seconds{") && v > 0 {
						v = math.Round((v-float64(t0.UnixMilli())/1000)*1000) / 1000
					}
					if series[s] == nil {
						series[s] = make([]*float64, steps+1)
					}
					series[s][k] = &v
				}
			}()
		}
		wg.Wait()
		fmt.Fprintf(os.Stderr, "%v: scrape %d of %d, %d series so far\n", time.Since(t0).Round(time.Millisecond), k, steps, len(series))
	}
	return writeCapture(out, series, scrape)
}

// scrapeNode is what a scrape of n's /metrics gives: up, and the kept
// series, each with the job and instance labels.
func scrapeNode(n *node) map[string]float64 {
	target := fmt.Sprintf(`instance=%q,job=%q`, n.instance(), job)
	samples := map[string]float64{"up{" + target + "}": 0}
	body, err := get("http://" + n.instance() + "/metrics")
	if err != nil {
		return samples
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return samples
	}
	samples["up{"+target+"}"] = 1
	for _, name := range kept {
		for _, m := range families[name].GetMetric() {
			samples[seriesName(name, m, n)] = value(m)
		}
	}
	return samples
}

func seriesName(name string, m *dto.Metric, n *node) string {
	labels := []string{fmt.Sprintf("instance=%q", n.instance()), fmt.Sprintf("job=%q", job)}
	for _, l := range m.GetLabel() {
		labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(labels)
	return name + "{" + strings.Join(labels, ",") + "}"
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	}
	return math.NaN()
}

func get(url string) (string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return string(b), err
}

const (
	beginMark = "# BEGIN captured"
	endMark   = "# END captured"
)

// writeCapture replaces the lines between the marks of the file at path
// with the captured series, indented as the begin mark is.
func writeCapture(path string, series map[string][]*float64, scrape time.Duration) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.Split(string(raw), "\n")
	begin := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), beginMark) })
	end := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), endMark) })
	if begin < 0 || end < begin {
		return errors.New(path + ": no " + beginMark + " … " + endMark + " lines")
	}
	indent := lines[begin][:len(lines[begin])-len(strings.TrimLeft(lines[begin], " "))]
	names := make([]string, 0, len(series))
	for s := range series {
		names = append(names, s)
	}
	sort.Strings(names)
	var b strings.Builder
	w := bufio.NewWriter(&b)
	fmt.Fprintf(w, "%sinterval: %v\n%sinput_series:\n", indent, scrape, indent)
	for _, s := range names {
		fmt.Fprintf(w, "%s  - series: '%s'\n%s    values: '%s'\n", indent, s, indent, values(series[s]))
	}
	_ = w.Flush()
	out := append(slices.Clone(lines[:begin+1]), strings.TrimSuffix(b.String(), "\n"))
	out = append(out, lines[end:]...)
	return os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644)
}

// values is a series in promtool's notation: a value per step, _ where it
// was absent, stale at the first step it was gone after being there.
func values(vs []*float64) string {
	var parts []string
	seen := false
	for _, v := range vs {
		switch {
		case v != nil:
			parts = append(parts, strconv.FormatFloat(*v, 'f', -1, 64))
			seen = true
		case seen:
			parts = append(parts, "stale")
			seen = false
		default:
			parts = append(parts, "_")
		}
	}
	return strings.Join(parts, " ")
}
