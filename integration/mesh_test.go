package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	dockernetwork "github.com/moby/moby/api/types/network"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/doccheck"
)

// The mesh under test: short rounds, so that a fault shows and heals
// within seconds, and a probe bound well inside a round.
const (
	meshInterval = time.Second
	meshTimeout  = 500 * time.Millisecond
	meshHTTPPort = "8080"
)

// meshNoticeBound is the longest a change on a path can take to show in
// its cell, from the rounds' own bounds (mesh/probe.go): the round under
// way when it happens may have probed the cell already, and lasts until
// the later of its jittered interval (at most 1.1 intervals) and its three
// steps (the lookup, the probes and learning new peers' rows, one
// -mesh-timeout each with four nodes); the next round then looks the peers
// up and probes the cell within two timeouts more: 2.5 s here. A bound of
// two intervals, which the mean round keeps, failed on a loaded two-core
// machine at 2.027 s.
var meshNoticeBound = max(meshInterval*11/10, 3*meshTimeout) + 2*meshTimeout

// meshFamilies are the families every pair is greeted over.
var meshFamilies = []string{"ipv4", "ipv6"}

// meshNode is one smile-server -mesh container.
type meshNode struct {
	name   string
	ctr    *testcontainers.DockerContainer
	v4, v6 netip.Addr
	http   string // its -http listener, published on the host's loopback
}

// startMesh starts one mesh node per name on nw, every one under alias,
// each with its -http port published on 127.0.0.1 only (a port Docker
// picks), and returns them once each has said it started.
func startMesh(t *testing.T, nw *testNet, alias string, names ...string) []*meshNode {
	t.Helper()
	nodes := make([]*meshNode, len(names))
	for i, name := range names {
		n := &meshNode{name: name}
		n.v4, n.v6 = nw.host(200 + i)
		n.ctr = startServer(t, serverOpts{
			args: []string{"-listen", ":" + port, "-mesh", alias, "-mesh-interval", meshInterval.String(),
				"-mesh-timeout", meshTimeout.String(), "-http", ":" + meshHTTPPort, "-mesh-node", name, "-mesh-metrics", "all"},
			net: nw, aliases: []string{alias}, hostNum: 200 + i, started: 1,
			extra: publishHTTP(),
		})
		n.http = publishedHTTP(t, n.ctr)
		nodes[i] = n
	}
	return nodes
}

// publishHTTP publishes a container's mesh -http port on the host's
// 127.0.0.1 only, at a port Docker picks: the test reads the nodes'
// endpoints from the host, and nothing else can.
func publishHTTP() []testcontainers.ContainerCustomizer {
	httpPort := dockernetwork.MustParsePort(meshHTTPPort + "/tcp")
	return []testcontainers.ContainerCustomizer{testcontainers.WithExposedPorts(httpPort.String()),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = dockernetwork.PortMap{httpPort: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"}}}
		})}
}

// publishedHTTP is where publishHTTP put ctr's -http port, HOST:PORT.
func publishedHTTP(t *testing.T, ctr *testcontainers.DockerContainer) string {
	t.Helper()
	mapped, err := ctr.MappedPort(context.Background(), meshHTTPPort+"/tcp")
	require.NoError(t, err, "the published -http port of %s", ctr.GetContainerID())
	return "127.0.0.1:" + mapped.Port()
}

// meshMatrix is /matrix.json as its documentation describes it
// (schema_version 2: a class code per column, full cells of the failing
// ones), decoded by the test on its own terms rather than with the
// server's types.
type meshMatrix struct {
	SchemaVersion int      `json:"schema_version"`
	Type          string   `json:"type"`
	Node          string   `json:"node"`
	Classes       []string `json:"classes"`
	Columns       []struct {
		Host    string `json:"host"`
		Address string `json:"address"`
		Family  string `json:"family"`
	} `json:"columns"`
	Rows []struct {
		Host  string     `json:"host"`
		Stale bool       `json:"stale"`
		Error string     `json:"error"`
		Codes string     `json:"codes"`
		Cells []meshCell `json:"cells"`
	} `json:"rows"`
}

type meshCell struct {
	Column      int     `json:"column"`
	Host        string  `json:"host"`
	Address     string  `json:"address"`
	Family      string  `json:"family"`
	OK          bool    `json:"ok"`
	Class       string  `json:"class"`
	Error       string  `json:"error"`
	LatencyMS   float64 `json:"latency_ms"`
	SinceUnixMS float64 `json:"since_unix_ms"`
	// The datagrams' fields (docs/mesh.md), absent from a code alone.
	LossRatio      *float64 `json:"loss_ratio"`
	Hops           *int     `json:"hops"`
	PathMTU        int      `json:"path_mtu"`
	InterfaceMTU   int      `json:"interface_mtu"`
	PMTUReportedBy string   `json:"pmtu_reported_by"`
	BlackHole      bool     `json:"black_hole"`
	PMTUError      string   `json:"pmtu_error"`
}

func (c meshCell) since() time.Time { return time.UnixMicro(int64(c.SinceUnixMS * 1000)) }

// pair is one cell of the matrix: source, destination, family.
type pair struct{ src, dst, family string }

func (p pair) String() string { return p.src + " → " + p.dst + " " + p.family }

// meshState is what the matrix must show: the class of every cell of the
// sources that report ("" ok, with the exact message of a failure), and
// the one node whose own row is stale.
type meshState struct {
	cells map[pair]wantCell
	stale string
}

type wantCell struct{ class, err string }

// expectMesh is every ordered pair × family of nodes, ok unless fault says
// otherwise; the stale node's own row has no cells.
func expectMesh(nodes []*meshNode, stale string, fault func(src, dst *meshNode, family string) wantCell) meshState {
	s := meshState{cells: map[pair]wantCell{}, stale: stale}
	for _, src := range nodes {
		if src.name == stale {
			continue
		}
		for _, dst := range nodes {
			if dst == src {
				continue
			}
			for _, f := range meshFamilies {
				w := wantCell{}
				if fault != nil {
					w = fault(src, dst, f)
				}
				s.cells[pair{src.name, dst.name, f}] = w
			}
		}
	}
	return s
}

// cellsOf indexes the matrix's cells of reporting rows: a row's full
// cell where it has one, else the column and the class its code names.
func cellsOf(m meshMatrix) map[pair][]meshCell {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	cells := map[pair][]meshCell{}
	for _, r := range m.Rows {
		full := map[int]meshCell{}
		for _, c := range r.Cells {
			full[c.Column] = c
		}
		for i, col := range m.Columns {
			k := -1
			if i < len(r.Codes) {
				k = strings.IndexByte(digits, r.Codes[i])
			}
			if k < 0 || k >= len(m.Classes) {
				continue // '.': no cell
			}
			c, ok := full[i]
			if !ok {
				c = meshCell{Column: i, Host: col.Host, Address: col.Address, Family: col.Family, OK: m.Classes[k] == "ok"}
				if !c.OK {
					c.Class = m.Classes[k]
				}
			}
			p := pair{r.Host, col.Host, col.Family}
			cells[p] = append(cells[p], c)
		}
	}
	return cells
}

// staleRow matches why a paused node's row is stale: its /mesh.json did
// not come within -mesh-timeout.
var staleRow = regexp.MustCompile(`^no row from http://\S+:` + meshHTTPPort + `/mesh\.json: timeout$`)

// mismatches lists how m differs from want, nothing when it shows it.
func (want meshState) mismatches(nodes []*meshNode, m meshMatrix) []string {
	var out []string
	if m.SchemaVersion != 2 || m.Type != "mesh_matrix" {
		out = append(out, fmt.Sprintf("schema_version %d, type %q: want 2, mesh_matrix", m.SchemaVersion, m.Type))
	}
	var hosts []string
	for _, r := range m.Rows {
		hosts = append(hosts, r.Host)
		switch {
		case r.Stale != (r.Host == want.stale):
			out = append(out, fmt.Sprintf("row %s: stale %v (%s)", r.Host, r.Stale, r.Error))
		case r.Stale && !staleRow.MatchString(r.Error):
			out = append(out, fmt.Sprintf("row %s: stale because %q, want %v", r.Host, r.Error, staleRow))
		}
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.name)
	}
	slices.Sort(hosts)
	if !slices.Equal(hosts, names) {
		out = append(out, fmt.Sprintf("rows %v, want one per node %v", hosts, names))
	}
	cells := cellsOf(m)
	for k, w := range want.cells {
		got := cells[k]
		if len(got) != 1 {
			out = append(out, fmt.Sprintf("%v: %d cells, want 1", k, len(got)))
			continue
		}
		c := got[0]
		if c.OK != (w.class == "") || c.Class != w.class || (w.err != "" && c.Error != w.err) {
			out = append(out, fmt.Sprintf("%v: ok %v, class %q, error %q; want class %q, error %q", k, c.OK, c.Class, c.Error, w.class, w.err))
		}
	}
	for k := range cells {
		if _, ok := want.cells[k]; !ok {
			out = append(out, fmt.Sprintf("%v: a cell the matrix should not have", k))
		}
	}
	slices.Sort(out)
	return out
}

// httpGet fetches url within a few seconds.
func httpGet(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// matrixSeen is a matrix as fetched, and when.
type matrixSeen struct {
	m    meshMatrix
	raw  []byte
	at   time.Time
	diff []string // how it differed from what was awaited
}

// awaitMatrix polls node's /matrix.json until it shows want or within has
// passed, and returns the last one read. It polls in the test's own
// goroutine (see pollLogs).
func awaitMatrix(t *testing.T, nodes []*meshNode, node *meshNode, want meshState, within time.Duration) (matrixSeen, bool) {
	t.Helper()
	var last matrixSeen
	for deadline := time.Now().Add(within); ; {
		raw, err := httpGet(context.Background(), "http://"+node.http+"/matrix.json")
		now := time.Now()
		if err == nil {
			var m meshMatrix
			if err = json.Unmarshal(raw, &m); err == nil {
				last = matrixSeen{m: m, raw: raw, at: now, diff: want.mismatches(nodes, m)}
				if len(last.diff) == 0 {
					return last, true
				}
			}
		}
		if err != nil {
			last.diff = []string{err.Error()}
		}
		if now.After(deadline) {
			return last, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// render draws a matrix as text, a row per source, for the log.
func render(nodes []*meshNode, m meshMatrix) string {
	var b strings.Builder
	cells := cellsOf(m)
	fmt.Fprintf(&b, "%-8s", "")
	for _, d := range nodes {
		fmt.Fprintf(&b, " %-22s", d.name)
	}
	b.WriteString("\n")
	for _, r := range m.Rows {
		fmt.Fprintf(&b, "%-8s", r.Host)
		if r.Stale {
			fmt.Fprintf(&b, " STALE: %s\n", r.Error)
			continue
		}
		for _, d := range nodes {
			var parts []string
			for _, f := range meshFamilies {
				for _, c := range cells[pair{r.Host, d.name, f}] {
					parts = append(parts, strings.TrimPrefix(f, "ip")+":"+map[bool]string{true: "ok", false: c.Class}[c.OK])
				}
			}
			fmt.Fprintf(&b, " %-22s", strings.Join(parts, " "))
		}
		b.WriteString("\n")
	}
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// metricsClasses is what a node's /metrics says of its own cells: the
// class of each (ok included) from smile_mesh_probe_success, whose value
// must agree with it.
func metricsClasses(t *testing.T, n *meshNode) (map[pair]string, error) {
	t.Helper()
	raw, err := httpGet(context.Background(), "http://"+n.http+"/metrics")
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("/metrics of %s: %w", n.name, err)
	}
	out := map[pair]string{}
	for _, m := range families["smile_mesh_probe_success"].GetMetric() {
		l := labelsOf(m)
		if l["source"] != n.name {
			continue
		}
		k := pair{l["source"], l["destination"], l["family"]}
		if ok := m.GetGauge().GetValue() == 1; ok != (l["class"] == "ok") {
			return nil, fmt.Errorf("/metrics of %s: %v: smile_mesh_probe_success %v, but class %q", n.name, k, m.GetGauge().GetValue(), l["class"])
		}
		out[k] = l["class"]
	}
	return out, nil
}

func labelsOf(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, lp := range m.GetLabel() {
		l[lp.GetName()] = lp.GetValue()
	}
	return l
}

// meshPhase is one step of TestMesh: a fault put in place or lifted, and
// the matrix it must lead to.
type meshPhase struct {
	name       string
	act        func() time.Time // does it, and returns when it took effect
	want       meshState
	screenshot string // its name in bin/, "" for none
	docs       bool   // docs/ shows it too
	snapshot   string // the /matrix.json kept for deploy/kubernetes's script tests, "" for none
}

// TestMesh runs four mesh nodes under one network alias, one round a
// second, and puts real faults between them: every cell ok within two
// rounds; IPv6 SYNs dropped on node-c, and exactly the cells towards
// node-c over IPv6 time out; node-d paused, and the cells towards it are
// "connected, but no greeting" while its own row goes stale; each fault
// lifted, and every cell is ok again within two rounds. For every state
// /matrix.json, each node's /metrics and the page drawn by a real browser
// must say the same; how long each change took to show is logged.
func TestMesh(t *testing.T) {
	t.Parallel()
	requireImages(t)
	requireNetfault(t)
	chromium := smiletest.RequireChromium(t)
	began := time.Now()
	nw := newNetwork(t)
	nodes := startMesh(t, nw, "smile-mesh-"+randomHex(3), "node-a", "node-b", "node-c", "node-d")
	a, c, d := nodes[0], nodes[2], nodes[3]
	info, err := d.ctr.Inspect(context.Background())
	require.NoError(t, err)
	lastStarted, err := time.Parse(time.RFC3339Nano, info.State.StartedAt)
	require.NoError(t, err)
	browser := smiletest.NewBrowser(t, chromium, 1000, 520)

	allOK := expectMesh(nodes, "", nil)
	dropped := expectMesh(nodes, "", func(_, dst *meshNode, family string) wantCell {
		if dst != c || family != "ipv6" {
			return wantCell{}
		}
		return wantCell{"timeout", fmt.Sprintf("can't connect to [%s]:%s: timeout", c.v6, port)}
	})
	frozen := expectMesh(nodes, d.name, func(_, dst *meshNode, family string) wantCell {
		if dst != d {
			return wantCell{}
		}
		addr := map[string]netip.Addr{"ipv4": d.v4, "ipv6": d.v6}[family]
		return wantCell{"timeout", fmt.Sprintf("connected to %s, but no greeting: timeout", netip.AddrPortFrom(addr, 7890))}
	})
	phases := []meshPhase{
		{"every node started", func() time.Time { return lastStarted }, allOK, "mesh-ok.png", false, "ok"},
		{"IPv6 SYNs dropped on node-c", func() time.Time {
			return netfault(t, c.ctr.GetContainerID(), "drop-syn", "-family", "ipv6").ended
		}, dropped, "mesh.png", true, "ipv6-dropped"},
		{"node-c's filter removed", func() time.Time { return netfault(t, c.ctr.GetContainerID(), "clear").ended }, allOK, "", false, ""},
		{"node-d paused", func() time.Time {
			paused(&faultEnv{t: t, srv: d.ctr})
			return time.Now()
		}, frozen, "mesh-paused.png", true, "paused"},
		{"node-d unpaused", func() time.Time {
			require.NoError(t, unpause(d.ctr.GetContainerID()), "docker unpause")
			return time.Now()
		}, allOK, "", false, ""},
	}

	var summary []string
	var matrices strings.Builder // the matrix of every phase, for docs/mesh.md
	prev := meshState{}
	for _, ph := range phases {
		at := ph.act()
		seen, ok := awaitMatrix(t, nodes, a, ph.want, 30*time.Second)
		require.True(t, ok, "%s: /matrix.json of %s never showed it; last read:\n%s\n%s",
			ph.name, a.name, strings.Join(seen.diff, "\n"), render(nodes, seen.m))
		shown := fmt.Sprintf("%s: /matrix.json of %s after %v:\n%s", ph.name, a.name, seen.at.Sub(at).Round(time.Millisecond), render(nodes, seen.m))
		t.Log(shown)
		matrices.WriteString(shown)

		// The probes' own clock: when each changed cell took its new state
		// (a cell back to ok carries it only for the round it changed in).
		// Cells that were ok and stay ok must not have changed since.
		cells := cellsOf(seen.m)
		var probed time.Duration
		for k, w := range ph.want.cells {
			got := cells[k][0]
			if was, found := prev.cells[k]; !found || was != w {
				probed = max(probed, got.since().Sub(at))
			} else if w.class == "" {
				assert.True(t, got.since().Before(at), "%s: %v stays ok, but changed at %v, after the fault at %v", ph.name, k, got.since(), at)
			}
		}
		assert.LessOrEqual(t, probed, meshNoticeBound, "%s: the probes took %v to see it", ph.name, probed)
		line := fmt.Sprintf("%-30s probes %6v  /matrix.json %6v", ph.name, probed.Round(time.Millisecond), seen.at.Sub(at).Round(time.Millisecond))

		view, diff := awaitPage(browser, nodes, "http://"+a.http+"/", ph.want, 30*time.Second)
		assert.Empty(t, diff, "%s: the page as drawn: %+v", ph.name, view)
		line += fmt.Sprintf("  page %6v", time.Since(at).Round(time.Millisecond))
		summary = append(summary, line)

		checkMeshMetrics(t, nodes, ph.want)
		if ph.screenshot != "" {
			smiletest.SaveScreenshot(t, ph.screenshot, ph.docs, screenshot(t, browser))
		}
		if ph.snapshot != "" && os.Getenv("SMILE_UPDATE_DOCS") == "1" {
			path := filepath.Join("..", "deploy", "kubernetes", "testdata", "matrix", ph.snapshot+".json")
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, seen.raw, 0o644))
		}
		prev = ph.want
	}
	times := fmt.Sprintf("%s\nwhole test %v\n", strings.Join(summary, "\n"), time.Since(began).Round(time.Millisecond))
	t.Logf("time to show each change (-mesh-interval %v, -mesh-timeout %v), from the change to: the probes' record of it, /matrix.json, the page drawn:\n%s",
		meshInterval, meshTimeout, times)
	// The runs differ in their times and subnets only: the rest of each
	// sample must be this run's.
	varying := []doccheck.Rule{
		{Re: regexp.MustCompile(`\d+m\d+(\.\d+)?s|\d+(\.\d+)?(ms|µs|s)\b`), Repl: "D"},
		{Re: regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b`), Repl: "<ipv4>"},
		{Re: regexp.MustCompile(`\[[0-9a-f:]+\]`), Repl: "[<ipv6>]"},
		{Re: regexp.MustCompile(` +`), Repl: " "},
	}
	doccheck.CheckSample(t, "../docs/mesh.md", "mesh-matrices", matrices.String(), varying...)
	doccheck.CheckSample(t, "../docs/mesh.md", "mesh-times", times, varying...)
}

// checkMeshMetrics asserts that each reporting node's /metrics gives its
// cells the classes the matrix gave them.
func checkMeshMetrics(t *testing.T, nodes []*meshNode, want meshState) {
	t.Helper()
	for _, n := range nodes {
		if n.name == want.stale {
			continue // paused: nothing answers
		}
		own := map[pair]string{}
		for k, w := range want.cells {
			if k.src == n.name {
				own[k] = map[bool]string{true: "ok", false: w.class}[w.class == ""]
			}
		}
		got, err := metricsClasses(t, n)
		if assert.NoError(t, err) {
			assert.Equal(t, own, got, "/metrics of %s", n.name)
		}
	}
}
