package mesh_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/mesh"
)

// A farm is a mesh of n hosts on one machine without n nodes: host-0000
// is a real node (a mesh.Mesh probing its peers, behind mesh.Handler),
// and hosts 1 to n-1 are the test's own, each a loopback address
// 127.3.x.y with a greeter and, on the -http port, its row as this test
// makes it, compact when asked so, else full (as a node of the previous
// version asks). Down hosts listen on neither: they are stale rows, and
// every row says they refuse. One pair fails otherwise: the row of
// failSrc says failDst times out, for an hour.
type farm struct {
	n         int
	port, web int
	down      map[int]bool
	base      string            // http://127.3.0.1:web
	compact   map[string][]byte // by IP: made once, as a node encodes its row once a request
	start     time.Time
	spec      string     // -mesh: every host, as each node lists them
	m         *mesh.Mesh // host-0000's
}

const (
	farmGreeting     = "smile\n"
	failSrc, failDst = 500, 7
	// farmTimeout is host-0000's -mesh-timeout, which bounds a gathering
	// at three times it: room for a test machine busy with other work.
	farmTimeout = 4 * time.Second
)

func farmIP(i int) string   { return fmt.Sprintf("127.3.%d.%d", i/250, i%250+1) }
func farmHost(i int) string { return fmt.Sprintf("host-%04d", i) }

// farmDown are the hosts that are down: one in every (from host-0013
// on), none when every is 0.
func farmDown(n, every int) map[int]bool {
	down := map[int]bool{}
	for i := 13; every > 0 && i < n; i += every {
		down[i] = true
	}
	return down
}

// startFarm starts the farm of n hosts, one in downEvery down, and returns
// it once host-0000 has its peers.
func startFarm(t testing.TB, n, downEvery int) *farm {
	t.Helper()
	f := &farm{n: n, port: smiletest.FreePort(t), web: smiletest.FreePort(t), down: farmDown(n, downEvery), start: time.Now(),
		compact: map[string][]byte{}}
	f.base = fmt.Sprintf("http://%s:%d", farmIP(0), f.web)
	ctx, cancel := context.WithCancel(context.Background())
	var lns []net.Listener
	t.Cleanup(func() {
		cancel()
		for _, ln := range lns {
			_ = ln.Close()
		}
	})
	listen := func(ip string, port int) net.Listener {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
		require.NoError(t, err)
		lns = append(lns, ln)
		return ln
	}
	hs := &http.Server{Handler: http.HandlerFunc(f.serveRow), ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	t.Cleanup(func() { _ = hs.Close() })
	var spec []string
	for i := range n {
		spec = append(spec, net.JoinHostPort(farmIP(i), fmt.Sprint(f.port)))
	}
	f.spec = strings.Join(spec, ",")
	for i := 1; i < n; i++ {
		if f.down[i] {
			continue
		}
		f.compact[farmIP(i)] = f.row(i, true, true)
		go greet(listen(farmIP(i), f.port))
		go func(ln net.Listener) { _ = hs.Serve(ln) }(listen(farmIP(i), f.web))
	}

	entries, err := mesh.ParseSpec(f.spec, f.port)
	require.NoError(t, err)
	own := netip.MustParseAddrPort(spec[0])
	greeting := farmGreeting
	log := slog.New(slog.DiscardHandler)
	m, err := mesh.New(mesh.Options{Spec: "farm", Entries: entries, Interval: 10 * time.Second, MaxPeers: mesh.DefaultMaxPeers,
		Timeout: farmTimeout, Grace: time.Minute, Node: farmHost(0), Skip: []netip.AddrPort{own}, Announce: []netip.AddrPort{own},
		Expect: &greeting, HTTPPort: f.web,
		NoUDP: true}, log) // the farm's hosts answer no datagrams: its figures are the matrix's and the page's
	require.NoError(t, err)
	f.m = m
	go m.Run(ctx)
	go func() {
		_ = mesh.ServeHTTP(ctx, listen(farmIP(0), f.web), mesh.Handler(m, prometheus.NewRegistry(), log), log)
	}()

	// The first round starts within a tenth of the interval and sets
	// the peers; the first gathering after it has them all.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var r struct {
			Peers int `json:"peers"`
		}
		if _, b, err := get(f.base + "/mesh.json?destinations=none"); err == nil && json.Unmarshal(b, &r) == nil && r.Peers == n-1 {
			return f
		}
		require.True(t, time.Now().Before(deadline), "host-0000 never had its %d peers", n-1)
		time.Sleep(50 * time.Millisecond)
	}
}

// greet writes the greeting to every connection of ln until it closes.
func greet(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = io.WriteString(c, farmGreeting)
		_ = c.Close()
	}
}

// serveRow serves the row of the host whose address was asked.
func (f *farm) serveRow(w http.ResponseWriter, r *http.Request) {
	ip, _, _ := net.SplitHostPort(r.Context().Value(http.LocalAddrContextKey).(net.Addr).String())
	w.Header().Set("Content-Type", "application/json")
	var a, b int
	if _, err := fmt.Sscanf(ip, "127.3.%d.%d", &a, &b); err != nil {
		http.Error(w, "not a farm address", http.StatusNotFound)
		return
	}
	i := a*250 + b - 1
	switch {
	case r.URL.Query().Get("form") == "compact":
		_, _ = w.Write(f.compact[ip])
	default:
		_, _ = w.Write(f.row(i, r.URL.Query().Get("destinations") != "none", false))
	}
}

// farmCell is a cell as /mesh.json writes it (docs/mesh.md).
type farmCell struct {
	Column       *int    `json:"column,omitempty"`
	Host         string  `json:"host"`
	Address      string  `json:"address"`
	Family       string  `json:"family"`
	OK           bool    `json:"ok"`
	Class        string  `json:"class,omitempty"`
	Error        string  `json:"error,omitempty"`
	LatencyMS    float64 `json:"latency_ms"`
	SinceUnixMS  float64 `json:"since_unix_ms"`
	LastOKUnixMS float64 `json:"last_ok_unix_ms,omitempty"`
	Round        uint64  `json:"round"`
}

// row is host i's /mesh.json: compact, full, or without cells.
func (f *farm) row(i int, cells, compact bool) []byte {
	ms := func(t time.Time) float64 { return float64(t.UnixMicro()) / 1000 }
	addr := net.JoinHostPort(farmIP(i), fmt.Sprint(f.port))
	r := map[string]any{"schema_version": 1, "type": "mesh_node", "node": farmHost(i), "addresses": []string{addr},
		"mesh": f.spec, "interval_ms": 10000, "timeout_ms": 2000, "max_peers": 100, "round": 42, "round_ms": 3.5,
		"round_unix_ms": ms(f.start), "peers": f.n - 1, "discovery": map[string]any{"ok": true}, "time_unix_ms": ms(time.Now())}
	var all []farmCell
	if cells {
		for j := range f.n {
			if j == i {
				continue
			}
			a := net.JoinHostPort(farmIP(j), fmt.Sprint(f.port))
			c := farmCell{Host: farmHost(j), Address: a, Family: "ipv4", OK: true, LatencyMS: 0.2, SinceUnixMS: ms(f.start.Add(-24 * time.Hour)),
				LastOKUnixMS: ms(f.start), Round: 42}
			switch {
			case f.down[j]:
				c.OK, c.Class, c.Error, c.SinceUnixMS = false, "refused", "can't connect to "+a+": refused", ms(f.start.Add(-2*time.Minute))
			case i == failSrc && j == failDst:
				c.OK, c.Class, c.Error, c.SinceUnixMS = false, "timeout", "connected to "+a+", but no greeting: timeout", ms(f.start.Add(-time.Hour))
			}
			if !c.OK {
				c.LastOKUnixMS = ms(f.start.Add(-2 * time.Hour))
			}
			all = append(all, c)
		}
	}
	if !compact {
		if all == nil {
			all = []farmCell{}
		}
		r["destinations"] = all
		b, _ := json.Marshal(r)
		return b
	}
	// The compact form: columns sorted as addresses, a code each.
	slices.SortFunc(all, func(x, y farmCell) int {
		return netip.MustParseAddrPort(x.Address).Compare(netip.MustParseAddrPort(y.Address))
	})
	classes := mesh.Classes()
	var cols []string
	var codes []byte
	full := []farmCell{}
	for k, c := range all {
		cols = append(cols, c.Address)
		code := slices.Index(classes, "ok")
		if !c.OK {
			code = slices.Index(classes, c.Class)
			c.Column = &k
			full = append(full, c)
		}
		codes = append(codes, "0123456789abcdefghijklmnopqrstuvwxyz"[code])
	}
	r["form"], r["classes"], r["columns"], r["codes"], r["cells"] = "compact", classes, cols, string(codes), full
	b, _ := json.Marshal(r)
	return b
}

// matrixRead is what a test reads of a /matrix.json, in either version.
type matrixRead struct {
	bytes      int
	took       time.Duration
	rows       int
	stale      int
	assembleMS float64
}

// readMatrix gets base's /matrix.json, gathered anew when fresh is past.
func readMatrix(t *testing.T, base string) matrixRead {
	t.Helper()
	start := time.Now()
	code, b, err := get(base + "/matrix.json")
	took := time.Since(start)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, string(b))
	var m struct {
		AssembleMS float64 `json:"assemble_ms"`
		Rows       []struct {
			Stale bool `json:"stale"`
		} `json:"rows"`
	}
	require.NoError(t, json.Unmarshal(b, &m))
	r := matrixRead{bytes: len(b), took: took, rows: len(m.Rows), assembleMS: m.AssembleMS}
	for _, row := range m.Rows {
		if row.Stale {
			r.stale++
		}
	}
	return r
}

// TestMatrixAtScale gathers the matrix of 200 and 1,000 hosts, one in
// fifty down, and of 1,000 all up, and says its size and how long
// gathering it took: every row there, fresh but the down hosts', in a few
// bytes a cell.
func TestMatrixAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("a farm of 1,000 loopback addresses: not in -short")
	}
	for _, tc := range []struct{ n, downEvery int }{{200, 50}, {1000, 50}, {1000, 0}} {
		t.Run(fmt.Sprintf("%d-down-every-%d", tc.n, tc.downEvery), func(t *testing.T) {
			f := startFarm(t, tc.n, tc.downEvery)
			first := readMatrix(t, f.base)
			again := readMatrix(t, f.base)
			n, cells := tc.n, tc.n*(tc.n-1)
			t.Logf("%d hosts, %d down: /matrix.json %d bytes (%.1f a cell), gathered in %.0f ms (request %v); again from the cache in %v",
				n, len(f.down), first.bytes, float64(first.bytes)/float64(cells), first.assembleMS, first.took.Round(time.Millisecond), again.took.Round(time.Millisecond))
			require.Equal(t, n, first.rows, "a row per host")
			require.Equal(t, len(f.down), first.stale, "the down hosts' rows, and only theirs, stale")
			require.Equal(t, first.bytes, again.bytes, "the same bytes within the freshness window")
			require.Less(t, float64(first.bytes)/float64(cells), 8.0, "bytes a cell")
		})
	}
}

// TestGatheringWithinItsShareOfMemory: a gathering whose rows fill its
// share of the memory limit makes the hosts whose rows do not fit stale
// rows saying so, and keeps the rows it has: every row fresh or stale for
// that reason alone.
func TestGatheringWithinItsShareOfMemory(t *testing.T) {
	f := startFarm(t, 200, 0)
	mesh.SetMatrixBudget(f.m, 64<<10) // a few rows read at once (8 KiB each), some 100 kept (600 bytes each)
	b := mesh.Gather(context.Background(), f.m, 0)
	var m mesh.Matrix
	require.NoError(t, json.Unmarshal(b, &m))
	reasons := map[string]int{}
	for _, r := range m.Rows {
		reasons[r.Error]++
	}
	t.Logf("rows by reason: %v", reasons)
	require.Len(t, m.Rows, 200)
	assert.Len(t, reasons, 2, "fresh, or not kept")
	assert.Greater(t, reasons[""], 10, "fresh rows")
	assert.Greater(t, reasons["not kept: the gathering already holds the 64 KiB of rows it may"], 10)
}

// BenchmarkGathering gathers the matrix of a farm of 1,000 hosts, all up
// and one in fifty down (whose cells, failing, travel in full), and
// encodes it, as a request past the freshness window does: the heap it
// held at its peak and what it allocated, in bytes a cell, with the
// collector at GOGC=10 (smiletest.HeapPeak); the process's figures, the
// farm's serving of its rows too.
//
//	go test ./mesh -run '^$' -bench BenchmarkGathering -benchtime 5x
func BenchmarkGathering(b *testing.B) {
	for _, downEvery := range []int{0, 50} {
		b.Run(fmt.Sprintf("1000-down-every-%d", downEvery), func(b *testing.B) { benchGathering(b, 1000, downEvery) })
	}
}

func benchGathering(b *testing.B, n, downEvery int) {
	f := startFarm(b, n, downEvery)
	cells := float64(n * (n - 1))
	var peak, alloc, size uint64
	hint := 0
	b.ResetTimer()
	for range b.N {
		var stale int
		p, a := smiletest.HeapPeak(func() {
			mat := mesh.Gather(context.Background(), f.m, hint)
			hint = len(mat)
			stale = strings.Count(string(mat), `"stale":true`)
		})
		peak, alloc, size = max(peak, p), alloc+a, size+uint64(hint)
		if stale != len(f.down) {
			b.Fatalf("%d stale rows, want the %d down hosts'", stale, len(f.down))
		}
	}
	b.ReportMetric(float64(peak)/cells, "peak-heap-B/cell")
	b.ReportMetric(float64(alloc)/cells/float64(b.N), "alloc-B/cell")
	b.ReportMetric(float64(size)/cells/float64(b.N), "matrix-B/cell")
}
