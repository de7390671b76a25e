package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/version"
)

// TestHTTPPortInUse: -http on a port something else holds is a one-line
// error naming it, exit 2, and no greeting listener stays open.
func TestHTTPPortInUse(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = held.Close() })
	port := smiletest.FreePort(t)
	var out, errb smiletest.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := Run(ctx, []string{"-listen", fmt.Sprintf("127.0.0.1:%d", port), "-http", held.Addr().String(), "-mesh", "127.0.0.1:1"},
		noEnv, &out, &errb)
	assert.Equal(t, 2, code)
	assert.Equal(t, fmt.Sprintf("smile-server: can't listen for -http on %s: address already in use\n", held.Addr()), errb.String())
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err, "the greeting port is free again")
	_ = ln.Close()
}

// TestHTTPWithoutMesh: -http alone serves /healthz and /metrics with the
// server's own counters, and says the mesh is off.
func TestHTTPWithoutMesh(t *testing.T) {
	port, web := smiletest.FreePort(t), smiletest.FreePort(t)
	startServer(t, "-listen", fmt.Sprintf("127.0.0.1:%d", port), "-http", fmt.Sprintf("127.0.0.1:%d", web), "-resolve=false")
	for range 3 {
		got, err := smiletest.Peer{}.Greet(fmt.Sprintf("127.0.0.1:%d", port))
		require.NoError(t, err)
		require.Equal(t, DefaultGreeting, got)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", web, path))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, body := get("/healthz")
	assert.Equal(t, 200, code)
	assert.Equal(t, "ok\n", body)
	code, body = get("/metrics")
	assert.Equal(t, 200, code)
	ver, rev := version.Info()
	for _, line := range []string{
		"smile_greetings_total 3",
		`smile_greetings_failed_total{class="error"} 0`,
		`smile_greetings_failed_total{class="reset"} 0`,
		`smile_greetings_failed_total{class="timeout"} 0`,
		"smile_connections_in_service 0",
		"smile_log_lines_dropped_total 0",
		fmt.Sprintf(`smile_build_info{goversion=%q,revision=%q,version=%q} 1`, runtime.Version(), rev, ver),
	} {
		assert.Contains(t, body, line+"\n")
	}
	assert.Regexp(t, `(?m)^smile_lingering_sockets [0-3]$`, body)
	assert.NotContains(t, body, "smile_mesh_")
	code, body = get("/mesh.json")
	assert.Equal(t, 404, code)
	assert.Equal(t, "the mesh is off: smile-server runs without -mesh\n", body)
}
