package mesh_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/mesh"
)

// memNodeEnv, set, makes TestMemoryChildNode run a node: the spec, its IP,
// greeting and -http ports, separated by spaces.
const memNodeEnv = "SMILE_TEST_MEM_NODE"

// TestMemoryChildNode is the node TestNeverReadingClients measures, in a
// process of its own so that its RSS is its own; it serves until its
// stdin closes.
func TestMemoryChildNode(t *testing.T) {
	args := strings.Fields(os.Getenv(memNodeEnv))
	if len(args) != 4 {
		t.Skip("run by TestNeverReadingClients")
	}
	spec, ip := args[0], args[1]
	port, _ := strconv.Atoi(args[2])
	web, _ := strconv.Atoi(args[3])
	m := newMesh(t, ip, port, web, spec, func(o *mesh.Options) {
		o.Interval, o.Timeout, o.MaxPeers, o.Node = mesh.DefaultInterval, 500*time.Millisecond, 200, "measured" // a matrix gathered every 5s, as by default
		o.NoUDP = true                                                                                          // the descriptors counted are the HTTP side's: no round's datagram socket comes and goes between two counts
	})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(web)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
	go m.Run(ctx)
	fmt.Printf("SERVING http://%s\n", ln.Addr())
	_ = mesh.ServeHTTP(ctx, ln, mesh.Handler(m, reg, log), log)
}

// startRowPeer serves h at ip:web: a peer's row with no greeting.
func startRowPeer(t *testing.T, ip string, web int, h http.HandlerFunc) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(web)))
	require.NoError(t, err)
	hs := &http.Server{Handler: h}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
}

// startChildNode runs TestMemoryChildNode in a process of its own under
// GOMEMLIMIT=64MiB, and returns its base URL and process id.
func startChildNode(t *testing.T, spec, ip string, port, web int) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryChildNode$", "-test.v")
	cmd.Env = append(os.Environ(), "GOMEMLIMIT=64MiB", fmt.Sprintf("%s=%s %s %d %d", memNodeEnv, spec, ip, port, web))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	var base string
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "SERVING "); ok {
			base = u
			break
		}
	}
	require.NotEmpty(t, base, "the node did not start")
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return base, cmd.Process.Pid
}

// vmHWM is a process's peak resident set, from /proc.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// TestNeverReadingClients: a node at the default interval whose matrix
// has 100 peers of 140 cells (some 6 MB of JSON), run under
// GOMEMLIMIT=64MiB, asked for
// /matrix.json by 64 clients that never read (each connecting again when
// cut off) keeps its peak RSS under 64 MiB, and answers /healthz and
// /metrics with 200 throughout.
func TestNeverReadingClients(t *testing.T) {
	if testing.Short() {
		t.Skip("10s of load")
	}
	port, web := ports(t)
	self := func(ip string) string { return net.JoinHostPort(ip, fmt.Sprint(port)) }
	var cells []string
	for i := range 140 {
		cells = append(cells, fmt.Sprintf(`{"host":"h%d","address":"127.0.9.%d:%d","family":"ipv4","ok":false,"class":"timeout","error":"%s","latency_ms":500,"since_unix_ms":1,"round":7}`,
			i, i, port, strings.Repeat("no greeting within 500ms; ", 12)))
	}
	spec := self("127.0.8.1")
	for i := 2; i <= 101; i++ {
		ip := fmt.Sprintf("127.0.8.%d", i)
		startRowPeer(t, ip, web, serveRow(rowOf(fmt.Sprintf("p%d", i), strings.Join(cells, ","), self(ip))))
		spec += "," + self(ip)
	}

	base, pid := startChildNode(t, spec, "127.0.8.1", port, web)
	m := waitFor(t, base, 20*time.Second, func(m *mesh.Matrix) bool {
		n := 0
		for _, r := range m.Rows {
			if !r.Stale && len(r.Cells) == 140 {
				n++
			}
		}
		return n == 100
	})
	_, body, err := get(base + "/matrix.json")
	require.NoError(t, err)
	idle := vmHWM(t, pid)
	t.Logf("matrix of %d rows, %d bytes; peak RSS before the clients: %.1f MiB", len(m.Rows), len(body), float64(idle)/(1<<20))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	host := strings.TrimPrefix(base, "http://")
	for range 64 {
		c, err := net.DialTimeout("tcp", host, time.Second)
		require.NoError(t, err)
		_ = c.(*net.TCPConn).SetReadBuffer(4096)
		_, err = io.WriteString(c, "GET /matrix.json HTTP/1.1\r\nHost: 127.0.8.1\r\n\r\n")
		require.NoError(t, err)
		conns = append(conns, c) // and never read
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	polls, bad, slowest := map[string]int{}, map[string]int{}, map[string]time.Duration{}
	for ctx.Err() == nil {
		for _, path := range []string{"/healthz", "/metrics"} {
			polls[path]++
			start := time.Now()
			resp, err := hc.Get(base + path)
			slowest[path] = max(slowest[path], time.Since(start))
			if err != nil {
				bad[path+" "+err.Error()]++
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				bad[fmt.Sprintf("%s %d", path, resp.StatusCode)]++
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	peak := vmHWM(t, pid)
	t.Logf("64 never-reading clients for 10s: peak RSS %.1f MiB; polls %v, failed %v, slowest %v", float64(peak)/(1<<20), polls, bad, slowest)
	assert.Less(t, peak, int64(64<<20), "peak RSS")
	assert.Empty(t, bad, "/healthz and /metrics answers other than 200")
}

// openFiles is how many descriptors a process has open.
func openFiles(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	require.NoError(t, err)
	return len(fds)
}

// TestIdleConnections: 1000 connections to -http that send nothing cost
// the node no more descriptors than its cap on connections, /healthz is
// answered once the cap's idle holders are cut off, and the node closes
// them within its header timeout.
func TestIdleConnections(t *testing.T) {
	port, web := ports(t)
	base, pid := startChildNode(t, fmt.Sprintf("127.0.8.201:%d", port), "127.0.8.200", port, web)
	before := openFiles(t, pid)
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	for range 1000 {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second)
		require.NoError(t, err)
		conns = append(conns, c)
	}
	time.Sleep(time.Second)
	held := openFiles(t, pid)
	start := time.Now()
	code, _, err := get(base + "/healthz")
	took := time.Since(start)
	t.Logf("descriptors: %d before, %d with 1000 idle connections; /healthz %d after %v", before, held, code, took)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code)
	assert.LessOrEqual(t, held-before, 256, "descriptors the idle connections took")
	assert.Less(t, took, 8*time.Second, "/healthz behind the idle connections")
}
