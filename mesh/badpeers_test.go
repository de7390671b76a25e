package mesh_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/mesh"
	"github.com/smile-sockets/smile/server"
)

// fakePeer is a peer that greets like a smile-server on ip:port but
// serves h at ip:web instead of a row; hits counts its /mesh.json requests.
type fakePeer struct {
	hits atomic.Int64
}

func startFakePeer(t *testing.T, ip string, port, web int, h http.HandlerFunc) *fakePeer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
	require.NoError(t, err)
	smiletest.UDPResponder(t, "udp4", net.JoinHostPort(ip, fmt.Sprint(port)), "Smile from the server", false) // as smile-server answers datagrams
	srv := server.New(server.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	served := make(chan struct{})
	go func() { _ = srv.Serve(ctx, ln); close(served) }()
	hl, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(web)))
	require.NoError(t, err)
	p := &fakePeer{}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		h(w, r)
	})}
	go func() { _ = hs.Serve(hl) }()
	t.Cleanup(func() {
		cancel()
		<-served
		srv.Wait()
		_ = hs.Close()
	})
	return p
}

// startBareNode runs a mesh node with its endpoints on ip:web, built from
// the package's parts rather than smile-server, so that its bound on a
// row can be lowered; it returns the base URL.
func startBareNode(t *testing.T, name, ip string, port, web int, spec string) string {
	t.Helper()
	return startNodeWith(t, ip, port, web, spec, 64<<10, func(o *mesh.Options) { o.Node = name })
}

// startNodeWith is startBareNode with options of the test's own: set
// changes the defaults (a second's rounds, 400ms timeouts), maxRow bounds
// a row (0: the default); it returns the base URL.
func startNodeWith(t *testing.T, ip string, port, web int, spec string, maxRow int, set func(*mesh.Options)) string {
	t.Helper()
	m := newMesh(t, ip, port, web, spec, set)
	if maxRow > 0 {
		mesh.SetMaxRowBytes(m, maxRow)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(web)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); m.Run(ctx) }()
	go func() {
		defer wg.Done()
		assert.NoError(t, mesh.ServeHTTP(ctx, ln, mesh.Handler(m, prometheus.NewRegistry(), slog.Default()), slog.Default()))
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return "http://" + ln.Addr().String()
}

// newMesh is a mesh node greeting from ip:port, fetching rows from -http
// port web, with options set changes.
func newMesh(t *testing.T, ip string, port, web int, spec string, set func(*mesh.Options)) *mesh.Mesh {
	t.Helper()
	entries, err := mesh.ParseSpec(spec, port)
	require.NoError(t, err)
	self := netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(port))
	o := mesh.Options{Spec: spec, Entries: entries, Interval: time.Second, MaxPeers: 100,
		Timeout: 400 * time.Millisecond, Grace: time.Minute, Skip: []netip.AddrPort{self},
		Announce: []netip.AddrPort{self}, HTTPPort: web}
	set(&o)
	m, err := mesh.New(o, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	return m
}

// TestPeersWithBadRows: a peer whose /mesh.json is garbage, of another
// kind, endless or slow is marked stale with the reason, its greeting
// cells stay what the probes found, and gathering the matrix takes no
// longer than the bound on one fetch.
func TestPeersWithBadRows(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	bad := map[string]http.HandlerFunc{
		"127.0.0.42": func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello <b>not json</b>") },
		"127.0.0.43": func(w http.ResponseWriter, r *http.Request) {
			chunk := []byte(strings.Repeat("a", 64<<10))
			_, _ = io.WriteString(w, `{"mesh":"`)
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		},
		"127.0.0.44": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			case <-stop:
			}
		},
		"127.0.0.45": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"schema_version":2,"type":"x\u001b[31m"}`)
		},
	}
	spec := fmt.Sprintf("127.0.0.41:%d", port)
	for ip, h := range bad {
		startFakePeer(t, ip, port, web, h)
		spec += fmt.Sprintf(",%s:%d", ip, port)
	}
	base := startBareNode(t, "good", "127.0.0.41", port, web, spec)

	url := func(ip string) string { return fmt.Sprintf("http://%s:%d/mesh.json", ip, web) }
	wantStale := map[string]string{
		"127.0.0.42": "bad row from " + url("127.0.0.42") + ": not JSON (at byte 0)",
		"127.0.0.43": "bad row from " + url("127.0.0.43") + ": too large: more than 26624 bytes", // 4 KiB and 1 KiB a cell the peer set allows, 22
		"127.0.0.44": "no row from " + url("127.0.0.44") + ": timeout",
		"127.0.0.45": "bad row from " + url("127.0.0.45") + `: schema_version 2, type "x31m": want 1, "mesh_node"`,
	}
	m := waitFor(t, base, 15*time.Second, func(m *mesh.Matrix) bool {
		r := row(m, "good")
		return r != nil && len(m.Cells(r)) == 4 && len(m.Rows) == 5
	})
	for ip, why := range wantStale {
		r := row(m, fmt.Sprintf("%s:%d", ip, port))
		if assert.NotNil(t, r, ip) {
			assert.True(t, r.Stale, ip)
			assert.Equal(t, why, r.Error, ip)
			assert.Empty(t, m.Cells(r), ip)
		}
	}
	for _, c := range m.Cells(row(m, "good")) {
		assert.True(t, c.OK, "%s greets fine whatever its row: %+v", c.Address, c)
	}

	// A gathering waits for the slow peer no longer than -mesh-timeout
	// (400ms), and is cut at three times that whatever happens; the
	// peer's 5s never shows. (The margin is for a loaded machine.)
	time.Sleep(600 * time.Millisecond) // past the freshness window
	start := time.Now()
	getJSON[mesh.Matrix](t, base+"/matrix.json")
	assert.Less(t, time.Since(start), 3*time.Second, "one gathering, bounded by the slow peer's fetch")
}

// TestFloodOfRequests: a flood of requests for the page and the matrix
// costs bounded work: the page is bytes in memory, excess requests get
// 503 at once, and however many ask for the matrix, peers are asked for
// their rows once per freshness window.
func TestFloodOfRequests(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	peer := startFakePeer(t, "127.0.0.52", port, web, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintf(w, `{"schema_version":1,"type":"mesh_node","node":"p","addresses":["127.0.0.52:%d"],"destinations":[]}`, port)
	})
	startNode(t, "target", "127.0.0.51", port, web, fmt.Sprintf("127.0.0.52:%d", port))
	base := fmt.Sprintf("http://127.0.0.51:%d", web)
	waitFor(t, base, 10*time.Second, func(m *mesh.Matrix) bool { return len(m.Rows) == 2 && !m.Rows[1].Stale })

	before := peer.hits.Load()
	start := time.Now()
	tr := &http.Transport{MaxIdleConnsPerHost: 200}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	var mu sync.Mutex
	statuses := map[string]int{}
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				path := "/"
				if (g+i)%2 == 1 {
					path = "/matrix.json"
				}
				resp, err := c.Get(base + path)
				if !assert.NoError(t, err) {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[fmt.Sprintf("%s %d", path, resp.StatusCode)]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	for k := range statuses {
		assert.Contains(t, []string{"/ 200", "/ 503", "/matrix.json 200", "/matrix.json 503"}, k)
	}
	assert.Positive(t, statuses["/ 200"])
	assert.Positive(t, statuses["/matrix.json 200"])
	// One gathering per 500ms window, and one fetch a round while the
	// peer's addresses are not announced by any row (this one announces
	// none).
	limit := int64(took/(500*time.Millisecond)) + int64(took/(900*time.Millisecond)) + 4
	assert.LessOrEqual(t, peer.hits.Load()-before, limit, "2000 requests in %v, %v", took, statuses)
	t.Logf("2000 requests in %v: %v; the peer was asked for its row %d times", took, statuses, peer.hits.Load()-before)
}
