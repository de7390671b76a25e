package mesh_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
	"github.com/smile-sockets/smile/mesh"
	"github.com/smile-sockets/smile/server"
)

// The mesh's tests run real smile-servers in this process, each on an
// address of its own in 127.0.0.0/8 (every one of them is loopback on
// Linux) with the same greeting and -http ports, as the nodes of a
// cluster listen alike. Each test takes addresses of its own.

// fast are the mesh flags of the tests: rounds a second apart.
var fast = []string{"-mesh-interval", "1s", "-mesh-timeout", "400ms", "-log-format", "text", "-resolve=false"}

// ports are a greeting and an HTTP port free on every address used.
func ports(t *testing.T) (greet, web int) {
	t.Helper()
	return smiletest.FreePort(t), smiletest.FreePort(t)
}

// startNode runs a mesh node named name greeting on ip:port with -http on
// ip:web.
func startNode(t *testing.T, name, ip string, port, web int, spec string, extra ...string) *smiletest.Running {
	t.Helper()
	args := append([]string{"-listen", net.JoinHostPort(ip, fmt.Sprint(port)), "-http", net.JoinHostPort(ip, fmt.Sprint(web)),
		"-mesh", spec, "-mesh-node", name}, fast...)
	args = append(args, extra...)
	r := smiletest.StartRun(t, server.Run, "SERVER started", args...)
	if code, exited := r.Exited(); exited {
		t.Fatalf("node %s exited %d: %s", name, code, r.Err)
	}
	t.Cleanup(func() {
		if code := r.Stop(); code != 0 {
			t.Errorf("node %s exited %d: %s", name, code, r.Err)
		}
	})
	return r
}

func get(url string) (int, []byte, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func getJSON[T any](t *testing.T, url string) T {
	t.Helper()
	var v T
	code, body, err := get(url)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, string(body))
	require.NoError(t, json.Unmarshal(body, &v), string(body))
	return v
}

// waitFor polls /matrix.json at base until ok accepts it.
func waitFor(t *testing.T, base string, within time.Duration, ok func(*mesh.Matrix) bool) *mesh.Matrix {
	t.Helper()
	deadline := time.Now().Add(within)
	var m mesh.Matrix
	for {
		m = getJSON[mesh.Matrix](t, base+"/matrix.json")
		if ok(&m) {
			return &m
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(m, "", " ")
			t.Fatalf("matrix of %s not as wanted within %v:\n%s", base, within, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// row is the matrix row of host, or nil.
func row(m *mesh.Matrix, host string) *mesh.MatrixRow {
	for i := range m.Rows {
		if m.Rows[i].Host == host {
			return &m.Rows[i]
		}
	}
	return nil
}

// cellsOf is a row's cells as "dst family class" strings, sorted.
func cellsOf(m *mesh.Matrix, r *mesh.MatrixRow) []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, c := range m.Cells(r) {
		class := c.Class
		if c.OK {
			class = "ok"
		}
		out = append(out, c.Host+" "+c.Family+" "+class)
	}
	slices.Sort(out)
	return out
}

func TestMeshOfThreeNodesAndADeadPeer(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	ip := func(i int) string { return fmt.Sprintf("127.0.0.%d", i) }
	addr := func(i int) string { return fmt.Sprintf("%s:%d", ip(i), port) }
	spec := strings.Join([]string{addr(21), addr(22), addr(23), addr(24)}, ",")
	for i := 21; i <= 23; i++ {
		startNode(t, fmt.Sprintf("n%d", i), ip(i), port, web, spec)
	}
	base := fmt.Sprintf("http://%s:%d", ip(21), web)
	dead := addr(24)
	want := map[string][]string{
		"n21": {dead + " ipv4 refused", "n22 ipv4 ok", "n23 ipv4 ok"},
		"n22": {dead + " ipv4 refused", "n21 ipv4 ok", "n23 ipv4 ok"},
		"n23": {dead + " ipv4 refused", "n21 ipv4 ok", "n22 ipv4 ok"},
	}
	m := waitFor(t, base, 15*time.Second, func(m *mesh.Matrix) bool {
		for host, cells := range want {
			if r := row(m, host); r == nil || r.Stale || !slices.Equal(cellsOf(m, r), cells) {
				return false
			}
		}
		return true
	})
	assert.Equal(t, "n21", m.Rows[0].Host, "the serving node's row comes first")
	assert.Equal(t, []string{"n21", dead, "n22", "n23"}, hosts(m), "the serving node's row first, then by name")
	stale := row(m, dead)
	require.NotNil(t, stale)
	assert.True(t, stale.Stale)
	assert.Equal(t, fmt.Sprintf("no row from http://%s:%d/mesh.json: connection refused", ip(24), web), stale.Error)
	for _, c := range m.Cells(row(m, "n22")) {
		if c.Host == dead {
			assert.Equal(t, "can't connect to "+dead+": refused", c.Error, "the client's own message")
		} else {
			assert.Empty(t, c.Error)
		}
	}

	// This node's row, as a peer fetches it.
	r := getJSON[mesh.Row](t, base+"/mesh.json")
	assert.Equal(t, 1, r.SchemaVersion)
	assert.Equal(t, "mesh_node", r.Type)
	assert.Equal(t, "n21", r.Node)
	assert.Equal(t, []string{addr(21)}, r.Addresses)
	assert.Equal(t, 3, r.Peers, "its own address is no peer")
	assert.Equal(t, mesh.Discovery{OK: true}, r.Discovery)
	assert.Equal(t, 1000.0, r.IntervalMS)
	assert.Len(t, r.Destinations, 3)
	bare := getJSON[mesh.Row](t, base+"/mesh.json?destinations=none")
	assert.Equal(t, "n21", bare.Node)
	assert.Equal(t, []string{addr(21)}, bare.Addresses)
	assert.Equal(t, []mesh.Cell{}, bare.Destinations, "who the node is, without its cells")

	// The metrics say what the row says.
	_, body, err := get(base + "/metrics")
	require.NoError(t, err)
	metrics := string(body)
	for _, line := range []string{
		fmt.Sprintf(`smile_mesh_probe_success{address=%q,class="refused",destination=%q,family="ipv4",source="n21"} 0`, dead, dead),
		fmt.Sprintf(`smile_mesh_probe_last_success_timestamp_seconds{address=%q,destination=%q,family="ipv4",source="n21"} 0`, dead, dead),
		`smile_mesh_peers{source="n21"} 3`,
		`smile_mesh_destinations{class="ok",family="ipv4",source="n21"} 2`,
		`smile_mesh_destinations{class="refused",family="ipv4",source="n21"} 1`,
		`smile_mesh_matrix_stale_rows{source="n21"} 1`,
		`smile_mesh_discovery_up{source="n21"} 1`,
		`smile_greetings_failed_total{class="timeout"} 0`,
		`smile_connections_in_service 0`,
		`smile_log_lines_dropped_total 0`,
	} {
		assert.Contains(t, metrics, line+"\n")
	}
	assert.Regexp(t, `(?m)^smile_greetings_total [1-9]`, metrics, "greeted by its peers")
	assert.Regexp(t, `(?m)^smile_mesh_probes_total\{class="refused",family="ipv4",source="n21"\} [1-9]`, metrics)

	code, body, err := get(base + "/healthz")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok\n", string(body))

	code, body, err = get(base + "/")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, string(body), "<title>smile mesh</title>")
	assert.Contains(t, string(body), `fetch("matrix.json"`)
	assert.NotContains(t, string(body), "http://", "nothing loaded from elsewhere")
	assert.NotContains(t, string(body), "https://", "nothing loaded from elsewhere")
}

func hosts(m *mesh.Matrix) []string {
	var out []string
	for _, r := range m.Rows {
		out = append(out, r.Host)
	}
	return out
}

// TestMeshFollowsDNS: the peers are what a name lists, both families of a
// dual-stack node make one host (its IPv4 address has no -http, so its
// row comes over IPv6), and a peer gone from DNS is dropped after the
// grace period, leaving no metric behind.
func TestMeshFollowsDNS(t *testing.T) {
	t.Parallel()
	smiletest.RequireIPv6(t)
	port, web := ports(t)
	dns := dnstest.Start(t)
	dns.AddHost("mesh.test", "127.0.0.31", "127.0.0.32", "::1")
	extra := []string{"-resolver", dns.Addr, "-mesh-grace", "2s"}
	a := startNode(t, "a", "127.0.0.31", port, web, "mesh.test", extra...)
	args := append([]string{"-listen", fmt.Sprintf("127.0.0.32:%d", port), "-listen", fmt.Sprintf("[::1]:%d", port),
		"-http", fmt.Sprintf("[::1]:%d", web), "-mesh", "mesh.test", "-mesh-node", "b"}, fast...)
	b := smiletest.StartRun(t, server.Run, "SERVER started", append(args, extra...)...)
	_ = a
	base := fmt.Sprintf("http://127.0.0.31:%d", web)
	m := waitFor(t, base, 15*time.Second, func(m *mesh.Matrix) bool {
		return slices.Equal(cellsOf(m, row(m, "a")), []string{"b ipv4 ok", "b ipv6 ok"}) &&
			slices.Equal(cellsOf(m, row(m, "b")), []string{"a ipv4 ok"}) && len(m.Rows) == 2
	})
	assert.False(t, row(m, "b").Stale)
	assert.Equal(t, []string{fmt.Sprintf("127.0.0.32:%d", port), fmt.Sprintf("[::1]:%d", port)}, row(m, "b").Addresses)

	// b leaves: its addresses leave DNS and it stops.
	dns.SetHost("mesh.test", "127.0.0.31")
	require.Equal(t, 0, b.Stop())
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := getJSON[mesh.Row](t, base+"/mesh.json")
		if r.Peers == 0 && len(r.Destinations) == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "b never dropped: %+v", r)
		time.Sleep(200 * time.Millisecond)
	}
	_, body, err := get(base + "/metrics")
	require.NoError(t, err)
	assert.NotContains(t, string(body), `destination="b"`)
	assert.Contains(t, string(body), `smile_mesh_peers{source="a"} 0`+"\n")
	for _, line := range []string{
		fmt.Sprintf("INFO mesh peer 127.0.0.32:%d dropped: unlisted for longer than -mesh-grace 2s\n", port),
		fmt.Sprintf("INFO mesh peer [::1]:%d dropped: unlisted for longer than -mesh-grace 2s\n", port),
	} {
		assert.True(t, a.Out.WaitFor(t, line, 5*time.Second), "%q not in the log:\n%s", line, a.Out)
	}
}

// TestMeshNameThatDoesNotResolve: greetings go on, and the row, the
// matrix and the metrics say the peer set is empty and why.
func TestMeshNameThatDoesNotResolve(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	dns := dnstest.Start(t)
	a := startNode(t, "lonely", "127.0.0.35", port, web, "nowhere.test", "-resolver", dns.Addr)
	base := fmt.Sprintf("http://127.0.0.35:%d", web)
	deadline := time.Now().Add(10 * time.Second)
	var r mesh.Row
	for r.Round == 0 {
		require.True(t, time.Now().Before(deadline), "no round")
		time.Sleep(100 * time.Millisecond)
		r = getJSON[mesh.Row](t, base+"/mesh.json")
	}
	assert.Equal(t, mesh.Discovery{OK: false, Error: "can't resolve nowhere.test: dns: no such host"}, r.Discovery)
	assert.Equal(t, 0, r.Peers)
	assert.Empty(t, r.Destinations)

	m := getJSON[mesh.Matrix](t, base+"/matrix.json")
	require.Len(t, m.Rows, 1)
	assert.Equal(t, &r.Discovery, m.Rows[0].Discovery)

	_, body, err := get(base + "/metrics")
	require.NoError(t, err)
	assert.Contains(t, string(body), `smile_mesh_peers{source="lonely"} 0`+"\n")
	assert.Contains(t, string(body), `smile_mesh_discovery_up{source="lonely"} 0`+"\n")

	got, err := smiletest.Peer{}.Greet(fmt.Sprintf("127.0.0.35:%d", port))
	require.NoError(t, err)
	assert.Equal(t, server.DefaultGreeting, got)
	line := `WARN mesh lookup failed mesh=nowhere.test err="can't resolve nowhere.test: dns: no such host" peers=0` + "\n"
	assert.True(t, a.Out.WaitFor(t, line, 5*time.Second), "%q not in the log:\n%s", line, a.Out)

	// The name comes to resolve: the peer set follows, and the log says
	// so once, as it said the failure once however many rounds failed.
	dns.SetHost("nowhere.test", "127.0.0.36")
	back := "INFO mesh lookup of nowhere.test ok again, peer addresses: 1\n"
	require.True(t, a.Out.WaitFor(t, back, 10*time.Second), "%q not in the log:\n%s", back, a.Out)
	assert.Equal(t, 1, strings.Count(a.Out.String(), "mesh lookup failed"), "logged once:\n%s", a.Out)
	r = getJSON[mesh.Row](t, base+"/mesh.json")
	assert.Equal(t, mesh.Discovery{OK: true}, r.Discovery)
	assert.Equal(t, 1, r.Peers)
}

// TestMeshProbesReceivedAreCountedNotLogged: a node's log does not grow
// by a line (nor its resolver by a PTR query) per probe its mesh peers
// make; it counts them. Any other client is logged as ever. Node b
// listens on 127.0.0.1, the source address of every loopback connection
// that does not choose one, so its probes of a come from a peer's address;
// the ordinary client comes from 127.0.0.77, no peer's.
func TestMeshProbesReceivedAreCountedNotLogged(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	dns := dnstest.Start(t)
	spec := fmt.Sprintf("127.0.0.41:%d,127.0.0.1:%d", port, port)
	resolve := []string{"-resolve=true", "-resolver", dns.Addr}
	a := startNode(t, "a", "127.0.0.41", port, web, spec, resolve...)
	startNode(t, "b", "127.0.0.1", port, web, spec)
	base := fmt.Sprintf("http://127.0.0.41:%d", web)

	const probes = 3
	var received int
	deadline := time.Now().Add(15 * time.Second)
	for received < probes {
		require.True(t, time.Now().Before(deadline), "b's probes never counted")
		time.Sleep(200 * time.Millisecond)
		_, body, err := get(base + "/metrics")
		require.NoError(t, err)
		_, after, found := strings.Cut(string(body), "\nsmile_mesh_probes_received_total{source=\"a\"} ")
		require.True(t, found, "no smile_mesh_probes_received_total:\n%s", body)
		_, err = fmt.Sscan(after, &received)
		require.NoError(t, err)
	}
	assert.Equal(t, 0, strings.Count(a.Out.String(), "Connection received"), "%d probes received, none logged:\n%s", received, a.Out)
	assert.Zero(t, dns.Queries(), "no reverse lookup of a peer")

	got, err := smiletest.Peer{Src: "127.0.0.77"}.Greet(fmt.Sprintf("127.0.0.41:%d", port))
	require.NoError(t, err)
	require.Equal(t, server.DefaultGreeting, got)
	line := "INFO Connection received from 127.0.0.77 (127.0.0.77)\n"
	require.True(t, a.Out.WaitFor(t, line, 5*time.Second), "%q not in the log:\n%s", line, a.Out)
	assert.Equal(t, 1, strings.Count(a.Out.String(), "Connection received"), "the ordinary client alone:\n%s", a.Out)
	assert.Equal(t, int64(1), dns.Queries(), "one reverse lookup, of the ordinary client")
}

// TestMetricsAsPrometheusReadsThem: a real node's /metrics passes
// promtool check metrics (names, units, help, types as Prometheus's
// linter wants them), every series kind there (-mesh-metrics all, an ok
// peer and a refusing one); and a scraper that asks for protocol buffers
// gets the latency histogram as a native histogram too, its classic
// buckets kept.
func TestMetricsAsPrometheusReadsThem(t *testing.T) {
	t.Parallel()
	promtool := smiletest.Tool(t, "promtool", "prometheus")
	port, web := ports(t)
	spec := fmt.Sprintf("127.0.0.45:%d,127.0.0.46:%d,127.0.0.47:%d", port, port, port)
	startNode(t, "a", "127.0.0.45", port, web, spec, "-mesh-metrics", "all")
	startNode(t, "b", "127.0.0.47", port, web, spec)
	base := fmt.Sprintf("http://127.0.0.45:%d", web)
	var body []byte
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, b, err := get(base + "/metrics")
		require.NoError(t, err)
		body = b
		if strings.Contains(string(b), `class="ok",destination="b"`) && strings.Contains(string(b), `class="refused"`) {
			break
		}
		require.True(t, time.Now().Before(deadline), "no ok and refused cells:\n%s", b)
		time.Sleep(200 * time.Millisecond)
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(body)
	out, err := check.CombinedOutput()
	assert.NoError(t, err, "promtool check metrics: %s", out)
	assert.Empty(t, string(out), "promtool's complaints")

	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	dec := expfmt.NewDecoder(resp.Body, expfmt.NewFormat(expfmt.TypeProtoDelim))
	var found bool
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		if mf.GetName() != "smile_mesh_probe_latency_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			found = true
			h := m.GetHistogram()
			assert.Equal(t, int32(3), h.GetSchema(), "native buckets")
			assert.NotEmpty(t, h.GetPositiveSpan(), "native buckets")
			assert.Len(t, h.GetBucket(), 16, "classic buckets kept")
		}
	}
	assert.True(t, found, "no smile_mesh_probe_latency_seconds")
}
