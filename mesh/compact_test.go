package mesh_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/mesh"
	"github.com/smile-sockets/smile/server"
)

// startGreeters runs a plain smile-server (the default greeting) on
// ip:port for each ip.
func startGreeters(t *testing.T, ips []string, port int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var servers []*server.Server
	done := make(chan struct{}, len(ips))
	for _, ip := range ips {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
		require.NoError(t, err)
		smiletest.UDPResponder(t, "udp4", net.JoinHostPort(ip, fmt.Sprint(port)), "Smile from the server", false) // as smile-server answers datagrams
		srv := server.New(server.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		servers = append(servers, srv)
		go func() { _ = srv.Serve(ctx, ln); done <- struct{}{} }()
	}
	t.Cleanup(func() {
		cancel()
		for _, srv := range servers {
			<-done
			srv.Wait()
		}
	})
}

// TestCompactRowSize: a node of 100 ok peers offers its row compact, a
// code a peer and no cell objects once nothing changes, and that is a
// small part of the full row's bytes.
func TestCompactRowSize(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	var ips, addrs []string
	for i := 1; i <= 100; i++ {
		ips = append(ips, fmt.Sprintf("127.0.6.%d", i))
		addrs = append(addrs, fmt.Sprintf("127.0.6.%d:%d", i, port))
	}
	startGreeters(t, ips, port)
	startNode(t, "c200", "127.0.6.200", port, web, strings.Join(addrs, ","))
	base := fmt.Sprintf("http://127.0.6.200:%d", web)
	var compact mesh.CompactRow
	for deadline := time.Now().Add(15 * time.Second); ; {
		compact = getJSON[mesh.CompactRow](t, base+"/mesh.json?form=compact")
		if compact.Round >= 3 && compact.Codes == strings.Repeat("0", 100) && len(compact.Cells) == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "no settled compact row of 100 ok cells: round %d, codes %q, %d cells",
			compact.Round, compact.Codes, len(compact.Cells))
		time.Sleep(200 * time.Millisecond)
	}
	assert.Equal(t, "compact", compact.Form)
	assert.Equal(t, mesh.Classes(), compact.Classes)
	assert.Equal(t, addrs, compact.Columns, "sorted addresses")

	_, full, err := get(base + "/mesh.json")
	require.NoError(t, err)
	_, small, err := get(base + "/mesh.json?form=compact")
	require.NoError(t, err)
	t.Logf("/mesh.json at 100 ok cells: full %d bytes (%.0f a cell), compact %d bytes (%.0f a cell)",
		len(full), float64(len(full))/100, len(small), float64(len(small))/100)
	assert.Less(t, len(small)*4, len(full), "compact is at most a quarter of the full row")
}

// TestGatheringTakesEitherForm: a peer that answers its full row (one that
// does not know form=compact) and one whose compact row names a class this
// version does not know both make fresh rows; the unknown class gets a
// code of its own in the matrix's classes, and a compact row that does not
// add up is a stale row saying why.
func TestGatheringTakesEitherForm(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	// Each row announces the address it is fetched from, as a node's does.
	full := `{"schema_version":1,"type":"mesh_node","node":"old","addresses":["127.0.7.2:%d"],"destinations":[` +
		`{"host":"x","address":"127.0.7.9:1","family":"ipv4","ok":false,"class":"refused","error":"can't connect to 127.0.7.9:1: refused","latency_ms":1,"since_unix_ms":1,"round":1}]}`
	newer := `{"schema_version":1,"type":"mesh_node","node":"newer","addresses":["127.0.7.3:%d"],"form":"compact","classes":["ok","dns","weird"],` +
		`"columns":["127.0.7.9:1","127.0.7.8:1"],"codes":"20","cells":[{"column":0,"host":"x","address":"127.0.7.9:1","family":"ipv4","ok":false,"class":"weird","error":"strange","latency_ms":1,"since_unix_ms":1,"round":1}]}`
	bad := `{"schema_version":1,"type":"mesh_node","node":"bad","addresses":["127.0.7.4:%d"],"form":"compact","classes":["ok"],"columns":["127.0.7.9:1"],"codes":"00","cells":[]}`
	var compactAsked atomic.Bool
	for ip, body := range map[string]string{"127.0.7.2": full, "127.0.7.3": newer, "127.0.7.4": bad} {
		startFakePeer(t, ip, port, web, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("form") == "compact" {
				compactAsked.Store(true)
			}
			_, _ = fmt.Fprintf(w, body, port)
		})
	}
	spec := fmt.Sprintf("127.0.7.2:%d,127.0.7.3:%d,127.0.7.4:%d", port, port, port)
	startNode(t, "gatherer", "127.0.7.1", port, web, spec)
	base := fmt.Sprintf("http://127.0.7.1:%d", web)
	m := waitFor(t, base, 10*time.Second, func(m *mesh.Matrix) bool {
		return len(m.Rows) == 4 && row(m, "old") != nil && row(m, "newer") != nil
	})
	assert.Equal(t, []string{"127.0.7.8:1 ipv4 ok", "127.0.7.9:1 ipv4 weird"}, cellsOf(m, row(m, "newer")))
	assert.Equal(t, []string{"127.0.7.9:1 ipv4 refused"}, cellsOf(m, row(m, "old")))
	assert.Equal(t, append(mesh.Classes(), "weird"), m.Classes)
	stale := row(m, "bad") // its head, which is fine, named it
	require.NotNil(t, stale)
	assert.Equal(t, fmt.Sprintf("bad row from http://127.0.7.4:%d/mesh.json: compact row: 2 codes for 1 columns", web), stale.Error)
	assert.True(t, compactAsked.Load(), "a gathering asks for the compact form")
}
