package mesh_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/mesh"
)

// rowOf is a row as a peer serves it: node name, announced addresses and
// the destinations' JSON as given.
func rowOf(node string, cells string, addrs ...string) string {
	return fmt.Sprintf(`{"schema_version":1,"type":"mesh_node","node":%q,"addresses":["%s"],"destinations":[%s]}`,
		node, strings.Join(addrs, `","`), cells)
}

// serveRow is a handler serving body as a row.
func serveRow(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) }
}

// TestRowOfMillionsOfTinyCells: a peer's row of 2.8 million {} cells in
// its 8 MiB is refused as a row with more cells than the peer set makes
// possible, and what the node holds does not grow by the cells. Not
// parallel: it measures the heap.
func TestRowOfMillionsOfTinyCells(t *testing.T) {
	port, web := ports(t)
	cells := strings.TrimSuffix(strings.Repeat("{},", (8<<20-200)/3), ",")
	startFakePeer(t, "127.0.0.91", port, web, serveRow(rowOf("huge", cells, fmt.Sprintf("127.0.0.91:%d", port))))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	base := startNodeWith(t, "127.0.0.90", port, web, fmt.Sprintf("127.0.0.91:%d", port), 0, func(o *mesh.Options) { o.Node = "n90" })
	m := waitFor(t, base, 15*time.Second, func(m *mesh.Matrix) bool { return len(m.Rows) == 2 })
	// Twice, so that the matrix cache and the owners' fetches both had
	// their turn.
	time.Sleep(1500 * time.Millisecond)
	m = waitFor(t, base, 15*time.Second, func(m *mesh.Matrix) bool { return len(m.Rows) == 2 })
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("heap in use grew by %.1f MiB", float64(grew)/(1<<20))
	r := m.Rows[1]
	assert.True(t, r.Stale)
	assert.Equal(t, fmt.Sprintf("bad row from http://127.0.0.91:%d/mesh.json: more than 18 cells, more than the peer set makes possible", web), r.Error)
	assert.Less(t, grew, int64(32<<20), "heap in use grew by %d bytes", grew)
}

// TestHostilePeerAnswers: a peer's answer that is not its row is never
// followed, echoed or believed beyond a short reason: a redirect to a URL
// of its choosing (which no node fetches), headers past their bound, and a
// peer listed by an IPv6 address with a zone is fetched at that address.
func TestHostilePeerAnswers(t *testing.T) {
	t.Parallel()
	smiletest.RequireIPv6(t)
	port, web := ports(t)
	var targetHits atomic.Int64
	target, err := net.Listen("tcp", "127.0.0.109:0")
	require.NoError(t, err)
	ts := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		targetHits.Add(1)
		_, _ = io.WriteString(w, "secret-token: hunter2")
	})}
	go func() { _ = ts.Serve(target) }()
	t.Cleanup(func() { _ = ts.Close() })

	self := func(ip string) string { return net.JoinHostPort(ip, fmt.Sprint(port)) }
	peers := map[string]http.HandlerFunc{
		"127.0.0.101": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://"+target.Addr().String()+"/latest/meta-data/", http.StatusFound)
		},
		"127.0.0.102": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Padding", strings.Repeat("x", 64<<10))
			_, _ = io.WriteString(w, rowOf("padded", "", self("127.0.0.102")))
		},
		"127.0.0.103": serveRow(`{"schema_version":1,"type":"` + strings.Repeat("\\u001b[31m", 100) + `"}`),
		"::1":         serveRow(rowOf("zoned", "", self("::1"))),
	}
	spec := self("127.0.0.100")
	for ip, h := range peers {
		startFakePeer(t, ip, port, web, h)
		spec += "," + self(ip)
	}
	spec += fmt.Sprintf(",[::1%%lo]:%d", port)
	spec = strings.Replace(spec, ","+self("::1"), "", 1)
	base := startBareNode(t, "n100", "127.0.0.100", port, web, spec)
	url := func(ip string) string { return "http://" + net.JoinHostPort(ip, fmt.Sprint(web)) + "/mesh.json" }
	want := map[string]string{
		self("127.0.0.101"): "no row from " + url("127.0.0.101") + ": redirect (HTTP 302), not followed",
		self("127.0.0.102"): "no row from " + url("127.0.0.102") + ": response headers larger than 8192 bytes",
		self("127.0.0.103"): "bad row from " + url("127.0.0.103") + `: schema_version 1, type "31m31m31m31m31m31m31m31m31m31m31…": want 1, "mesh_node"`,
	}
	m := waitFor(t, base, 15*time.Second, func(m *mesh.Matrix) bool {
		r := row(m, "zoned")
		return len(m.Rows) == 5 && r != nil
	})
	for host, why := range want {
		r := row(m, host)
		if assert.NotNil(t, r, host) {
			assert.True(t, r.Stale, host)
			assert.Equal(t, why, r.Error, host)
		}
	}
	assert.False(t, row(m, "zoned").Stale)
	assert.Zero(t, targetHits.Load(), "requests that reached the redirect's target")
}

// TestRowsBelievedOnlyForTheirAddress: a row counts only for the address
// it was fetched from. A second node with a node's name, a row bearing this node's
// name, a row announcing another node's address and a row that does not
// announce the address it came from are each a stale row saying why;
// the honest peer's row stands.
func TestRowsBelievedOnlyForTheirAddress(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	self := func(ip string) string { return net.JoinHostPort(ip, fmt.Sprint(port)) }
	peers := map[string]string{
		"127.0.0.111": rowOf("twin", "", self("127.0.0.111")),
		"127.0.0.112": rowOf("twin", "", self("127.0.0.112")),
		"127.0.0.113": rowOf("n110", "", self("127.0.0.113")),
		"127.0.0.114": rowOf("liar", "", self("127.0.0.114"), self("127.0.0.115")),
		"127.0.0.115": rowOf("honest", "", self("127.0.0.115")),
		"127.0.0.116": rowOf("elsewhere", "", self("127.0.0.199")),
	}
	spec := self("127.0.0.110")
	for ip, body := range peers {
		startFakePeer(t, ip, port, web, serveRow(body))
		spec += "," + self(ip)
	}
	base := startBareNode(t, "n110", "127.0.0.110", port, web, spec)
	want := map[string]string{
		self("127.0.0.113"): "row from " + self("127.0.0.113") + " bears this node's name, n110",
		self("127.0.0.114"): "node liar announces " + self("127.0.0.115") + ", the address of node honest",
		self("127.0.0.116"): "node elsewhere does not announce " + self("127.0.0.116") + ", the address its row came from",
	}
	m := waitFor(t, base, 15*time.Second, func(m *mesh.Matrix) bool { return len(m.Rows) == 7 })
	for host, why := range want {
		r := row(m, host)
		if assert.NotNil(t, r, host) {
			assert.True(t, r.Stale, host)
			assert.Equal(t, why, r.Error, host)
		}
	}
	if r := row(m, "honest"); assert.NotNil(t, r) {
		assert.False(t, r.Stale)
	}
	// Of the twins, the one whose address had the name first keeps it;
	// the other is stale, naming it.
	if r := row(m, "twin"); assert.NotNil(t, r) {
		assert.False(t, r.Stale)
		other := map[string]string{self("127.0.0.111"): self("127.0.0.112"), self("127.0.0.112"): self("127.0.0.111")}[r.Addresses[0]]
		if s := row(m, other); assert.NotNil(t, s, other) {
			assert.True(t, s.Stale)
			assert.Equal(t, "node name twin is also the name of the row from "+r.Addresses[0], s.Error)
		}
	}
}

// TestNodesSharingAnIP: two nodes on one IP with -http ports of their own
// are not merged: each fetches rows from its own -http port, so each
// finds its own row at the other's address and says so.
func TestNodesSharingAnIP(t *testing.T) {
	t.Parallel()
	port1, web1 := ports(t)
	port2, web2 := ports(t)
	spec := fmt.Sprintf("127.0.0.120:%d,127.0.0.120:%d", port1, port2)
	base := startBareNode(t, "one", "127.0.0.120", port1, web1, spec)
	startBareNode(t, "two", "127.0.0.120", port2, web2, spec)
	m := waitFor(t, base, 15*time.Second, func(m *mesh.Matrix) bool { return len(m.Rows) == 2 })
	other := fmt.Sprintf("127.0.0.120:%d", port2)
	if r := row(m, other); assert.NotNil(t, r) {
		assert.True(t, r.Stale)
		assert.Equal(t, fmt.Sprintf("row from %s bears this node's name, one (nodes sharing IP 127.0.0.120: rows are fetched from this node's -http port, %d, which only one of them can serve)", other, web1), r.Error)
	}
}

// deafHTTP accepts connections on ip:web and never answers.
func deafHTTP(t *testing.T, ip string, web int) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(web)))
	require.NoError(t, err)
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					_ = c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
}

// TestDeafPeersDoNotHideHealthyOnes: with 100 peers whose -http port never
// answers, the 3 healthy peers that sort after them are fetched (first,
// once they have answered), deaf peers are stale with "timeout" or, when a
// gathering had no time left to try them, say so; no row says "timeout"
// for a peer that was never asked.
func TestDeafPeersDoNotHideHealthyOnes(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	self := func(ip string) string { return net.JoinHostPort(ip, fmt.Sprint(port)) }
	spec := self("127.0.3.1")
	for i := 1; i <= 100; i++ {
		ip := fmt.Sprintf("127.0.4.%d", i)
		deafHTTP(t, ip, web)
		spec += "," + self(ip)
	}
	for i := 1; i <= 3; i++ {
		ip := fmt.Sprintf("127.0.5.%d", i)
		startFakePeer(t, ip, port, web, serveRow(rowOf(fmt.Sprintf("healthy%d", i), "", self(ip))))
		spec += "," + self(ip)
	}
	base := startNodeWith(t, "127.0.3.1", port, web, spec, 64<<10, func(o *mesh.Options) {
		o.Node, o.Timeout, o.Interval = "n3", 200*time.Millisecond, time.Second
	})
	m := waitFor(t, base, 20*time.Second, func(m *mesh.Matrix) bool {
		for i := 1; i <= 3; i++ {
			if r := row(m, fmt.Sprintf("healthy%d", i)); r == nil || r.Stale {
				return false
			}
		}
		return true
	})
	var timeouts, notTried int
	for _, r := range m.Rows[1:] {
		switch {
		case !r.Stale:
		case strings.HasSuffix(r.Error, ": timeout"):
			timeouts++
		case r.Error == "not tried: gathering out of time":
			notTried++
		default:
			t.Errorf("row %s: %s", r.Host, r.Error)
		}
	}
	t.Logf("gathering took %.0f ms: %d timeouts, %d not tried", m.AssembleMS, timeouts, notTried)
	assert.Equal(t, 100, timeouts+notTried)
	assert.LessOrEqual(t, timeouts, 3*32, "at most a gathering's time of fetches, 32 at a time")
	assert.Less(t, m.AssembleMS, 1000.0, "a gathering within three times -mesh-timeout, 200ms, and a loaded machine's slack")
}

// TestDeafHTTPPortsDoNotStretchRounds: peers that greet but whose -http
// port never answers cost the rounds nothing: learning whose addresses
// they are runs beside the rounds.
func TestDeafHTTPPortsDoNotStretchRounds(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	_, elsewhere := ports(t)
	self := func(ip string) string { return net.JoinHostPort(ip, fmt.Sprint(port)) }
	spec := self("127.0.6.1")
	for i := 2; i <= 6; i++ {
		ip := fmt.Sprintf("127.0.6.%d", i)
		startFakePeer(t, ip, port, elsewhere, serveRow("")) // greets; its rows are elsewhere
		deafHTTP(t, ip, web)
		spec += "," + self(ip)
	}
	base := startNodeWith(t, "127.0.6.1", port, web, spec, 0, func(o *mesh.Options) {
		o.Node, o.Timeout, o.Interval = "n6", 2*time.Second, 4*time.Second
	})
	var worst float64
	deadline := time.Now().Add(30 * time.Second)
	for r := getJSON[mesh.Row](t, base+"/mesh.json"); r.Round < 3; r = getJSON[mesh.Row](t, base+"/mesh.json") {
		require.True(t, time.Now().Before(deadline), "no 3 rounds: %+v", r)
		if r.Round > 0 {
			worst = max(worst, r.RoundMS)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("longest round: %.1f ms", worst)
	// Learning names inside the round made every round wait for the deaf
	// ports' -mesh-timeout; beside it, none does (on a loaded machine,
	// a round of 5 probes has still taken 0.8s).
	assert.Less(t, worst, 2000.0, "rounds of 5 greeting peers, whose -http ports are deaf (-mesh-timeout 2s)")
}

// TestFrozenPeerHoldsNoRequester: while gatherings wait for a peer whose
// -http port answers nothing, /matrix.json is served at once (the last
// matrix, which says its age) and /healthz never waits or fails, however
// many ask for the matrix.
func TestFrozenPeerHoldsNoRequester(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	self := func(ip string) string { return net.JoinHostPort(ip, fmt.Sprint(port)) }
	deafHTTP(t, "127.0.0.131", web)
	startFakePeer(t, "127.0.0.132", port, web, serveRow(rowOf("fine", "", self("127.0.0.132"))))
	spec := strings.Join([]string{self("127.0.0.130"), self("127.0.0.131"), self("127.0.0.132")}, ",")
	base := startNodeWith(t, "127.0.0.130", port, web, spec, 0, func(o *mesh.Options) {
		o.Node, o.Interval, o.Timeout = "n130", 4*time.Second, 2*time.Second
	})
	waitFor(t, base, 10*time.Second, func(m *mesh.Matrix) bool { return len(m.Rows) == 3 })

	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	var slowest atomic.Int64
	var bad atomic.Int64
	end := time.Now().Add(6 * time.Second)
	done := make(chan struct{})
	for range 80 {
		go func() {
			defer func() { done <- struct{}{} }()
			for time.Now().Before(end) {
				start := time.Now()
				resp, err := c.Get(base + "/matrix.json")
				if err != nil {
					bad.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if took := time.Since(start); resp.StatusCode == http.StatusOK && int64(took) > slowest.Load() {
					slowest.Store(int64(took))
				}
			}
		}()
	}
	var polls, failed int
	for time.Now().Before(end) {
		polls++
		resp, err := c.Get(base + "/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			failed++
		}
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		time.Sleep(40 * time.Millisecond)
	}
	for range 80 {
		<-done
	}
	t.Logf("/healthz: %d of %d polls failed; slowest /matrix.json answer %v", failed, polls, time.Duration(slowest.Load()))
	assert.Zero(t, failed, "/healthz polls other than 200 of %d", polls)
	// A gathering waits 2s for the frozen peer; an answer that waited for
	// one would take that (on a loaded machine, answers that did not have
	// still taken 0.9s).
	assert.Less(t, time.Duration(slowest.Load()), 1500*time.Millisecond, "a /matrix.json answer waited for a gathering (2s)")

	resp, err := c.Get(base + "/matrix.json")
	require.NoError(t, err)
	resp.Body.Close()
	assert.NotEmpty(t, resp.Header.Get("Last-Modified"))
	assert.NotEmpty(t, resp.Header.Get("Age"))
}

// TestHTTPHostAndFraming: only requests whose Host is an IP address or a
// name of the node's are answered (a page elsewhere cannot read the
// endpoints by rebinding its name to the node's address), and no reply
// may be framed.
func TestHTTPHostAndFraming(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	base := startBareNode(t, "n140", "127.0.0.140", port, web, fmt.Sprintf("127.0.0.141:%d", port))
	for _, c := range []struct {
		host string
		code int
	}{
		{"", http.StatusOK},
		{"localhost", http.StatusOK},
		{"n140:8080", http.StatusOK},
		{"[::1]:8080", http.StatusOK},
		{"[fe80::1%25eth0]:8080", http.StatusOK},
		{"attacker.example", http.StatusMisdirectedRequest},
		{"attacker.example:8080", http.StatusMisdirectedRequest},
	} {
		for _, path := range []string{"/", "/healthz", "/matrix.json", "/mesh.json", "/metrics"} {
			req, err := http.NewRequest(http.MethodGet, base+path, nil)
			require.NoError(t, err)
			if c.host != "" {
				req.Host = c.host
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			assert.Equal(t, c.code, resp.StatusCode, "Host %q %s", c.host, path)
			assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'", "Host %q %s", c.host, path)
		}
	}
}

// TestFrozenAndChurningPeers: a peer whose rounds stopped keeps its last
// round's time in the matrix, so the page shows its age; a peer answering
// a new name each time keeps the name it first had in this node's row
// (its series do not churn) and its row is stale saying why, logged once.
func TestFrozenAndChurningPeers(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	self := func(ip string) string { return net.JoinHostPort(ip, fmt.Sprint(port)) }
	frozenAt := float64(time.Now().Add(-time.Hour).UnixMilli())
	startFakePeer(t, "127.0.0.151", port, web, serveRow(strings.Replace(rowOf("frozen", "", self("127.0.0.151")),
		`"type"`, fmt.Sprintf(`"round":7,"round_unix_ms":%.0f,"type"`, frozenAt), 1)))
	var n atomic.Int64
	startFakePeer(t, "127.0.0.152", port, web, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, rowOf(fmt.Sprintf("churn%d", n.Add(1)), "", self("127.0.0.152")))
	})
	spec := strings.Join([]string{self("127.0.0.150"), self("127.0.0.151"), self("127.0.0.152")}, ",")
	node := startNode(t, "n150", "127.0.0.150", port, web, spec)
	base := fmt.Sprintf("http://127.0.0.150:%d", web)
	m := waitFor(t, base, 15*time.Second, func(m *mesh.Matrix) bool {
		r := row(m, self("127.0.0.152"))
		return row(m, "frozen") != nil && r != nil && r.Stale
	})
	assert.Equal(t, frozenAt, row(m, "frozen").RoundUnixMS)
	assert.Equal(t, uint64(7), row(m, "frozen").Round)
	assert.Regexp(t, `^row from 127\.0\.0\.152:\d+ names node churn\d+, which was churn\d+: a new name is believed once it stays$`,
		row(m, self("127.0.0.152")).Error)

	names := map[string]bool{}
	for range 5 {
		for _, c := range getJSON[mesh.Row](t, base+"/mesh.json").Destinations {
			if c.Address == self("127.0.0.152") {
				names[c.Host] = true
			}
		}
		time.Sleep(600 * time.Millisecond) // a gathering apart
		getJSON[mesh.Matrix](t, base+"/matrix.json")
	}
	assert.Len(t, names, 1, "names the churning peer's address had in 5 rows: %v", names)
	assert.Equal(t, 1, strings.Count(node.Out.String(), "mesh row not believed"), "logged once:\n%s", node.Out)
}

// TestMeshWithAHostilePeer: three smile-servers and a peer that greets
// like one but serves a row copying a node's name and claiming its
// address: every real node's row stands, the impostor's is stale saying
// why, and its greeting cells stay what the probes found.
func TestMeshWithAHostilePeer(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	addr := func(i int) string { return fmt.Sprintf("127.0.0.%d:%d", i, port) }
	spec := strings.Join([]string{addr(161), addr(162), addr(163), addr(164)}, ",")
	for i := 161; i <= 163; i++ {
		startNode(t, fmt.Sprintf("n%d", i), fmt.Sprintf("127.0.0.%d", i), port, web, spec)
	}
	startFakePeer(t, "127.0.0.164", port, web, serveRow(rowOf("n162", "", addr(164), addr(162))))
	base := fmt.Sprintf("http://127.0.0.161:%d", web)
	want := map[string][]string{
		"n161": {addr(164) + " ipv4 ok", "n162 ipv4 ok", "n163 ipv4 ok"},
		"n162": {addr(164) + " ipv4 ok", "n161 ipv4 ok", "n163 ipv4 ok"},
		"n163": {addr(164) + " ipv4 ok", "n161 ipv4 ok", "n162 ipv4 ok"},
	}
	m := waitFor(t, base, 20*time.Second, func(m *mesh.Matrix) bool {
		for host, cells := range want {
			if r := row(m, host); r == nil || r.Stale || !slices.Equal(cellsOf(m, r), cells) {
				return false
			}
		}
		r := row(m, addr(164))
		return len(m.Rows) == 4 && r != nil && r.Stale
	})
	assert.Equal(t, "node name n162 is also the name of the row from "+addr(162), row(m, addr(164)).Error)
}

// TestLearningOwnersReadsOnlyTheHead: a peer that ignores
// ?destinations=none and sends its cells anyway costs the node that
// learns whose addresses are whose only the row's head: the node stops
// reading there and drops the connection.
func TestLearningOwnersReadsOnlyTheHead(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	self := func(ip string) string { return net.JoinHostPort(ip, fmt.Sprint(port)) }
	var mostSent atomic.Int64
	startFakePeer(t, "127.0.0.171", port, web, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("destinations") != "none" {
			_, _ = io.WriteString(w, rowOf("talker", "", self("127.0.0.171")))
			return
		}
		rc := http.NewResponseController(w)
		n, _ := fmt.Fprintf(w, `{"schema_version":1,"type":"mesh_node","node":"talker","addresses":[%q],"destinations":[{}`, self("127.0.0.171"))
		sent := int64(n)
		chunk := []byte(strings.Repeat(",{}", 16<<10))
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if _, err := w.Write(chunk); err != nil || rc.Flush() != nil {
				break
			}
			sent += int64(len(chunk))
		}
		if sent > mostSent.Load() {
			mostSent.Store(sent)
		}
	})
	base := startNodeWith(t, "127.0.0.170", port, web, self("127.0.0.170")+","+self("127.0.0.171"), 0, func(o *mesh.Options) { o.Node = "n170" })
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := getJSON[mesh.Row](t, base+"/mesh.json")
		if len(r.Destinations) == 1 && r.Destinations[0].Host == "talker" {
			break
		}
		require.True(t, time.Now().Before(deadline), "the talker's address never named: %+v", r.Destinations)
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the handler's count, once the node has dropped it
	t.Logf("bytes the peer could send before the node dropped the connection: %d", mostSent.Load())
	assert.Less(t, mostSent.Load(), int64(1<<20))
}

// TestTwinGoneLeavesAStaleRow: of two nodes by one name, the one that had
// it first going away leaves a stale row under its address, not hidden
// behind the other's row.
func TestTwinGoneLeavesAStaleRow(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	self := func(ip string) string { return net.JoinHostPort(ip, fmt.Sprint(port)) }
	down := map[string]*atomic.Bool{}
	spec := self("127.0.0.180")
	for _, ip := range []string{"127.0.0.181", "127.0.0.182"} {
		down[self(ip)] = &atomic.Bool{}
		gone := down[self(ip)]
		body := rowOf("twin", "", self(ip))
		startFakePeer(t, ip, port, web, func(w http.ResponseWriter, _ *http.Request) {
			if gone.Load() {
				http.Error(w, "gone", http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, body)
		})
		spec += "," + self(ip)
	}
	base := startBareNode(t, "n180", "127.0.0.180", port, web, spec)
	m := waitFor(t, base, 15*time.Second, func(m *mesh.Matrix) bool {
		r := row(m, "twin")
		return len(m.Rows) == 3 && r != nil && !r.Stale
	})
	first := row(m, "twin").Addresses[0]
	down[first].Store(true)
	m = waitFor(t, base, 15*time.Second, func(m *mesh.Matrix) bool {
		r := row(m, first)
		return r != nil && r.Stale && strings.HasSuffix(r.Error, ": HTTP 503")
	})
	assert.Len(t, m.Rows, 3, "n180, the remaining twin, and the gone one's stale row")
}
