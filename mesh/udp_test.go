package mesh_test

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/mesh"
)

// TestDatagramsOnLoopback: every cell of a mesh on loopback has its
// datagrams' fields, loss 0, hops 0, a round trip and the path MTU of
// loopback; a peer that answers no datagrams (-udp=false) is loss 1 and
// still ok, as datagram loss is no TCP class, and travels in full in the
// compact row and the matrix though its code is ok; with -mesh-udp=false
// the fields are absent.
func TestDatagramsOnLoopback(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	ip := func(i int) string { return fmt.Sprintf("127.0.0.%d", i) }
	addr := func(i int) string { return fmt.Sprintf("%s:%d", ip(i), port) }
	spec := strings.Join([]string{addr(71), addr(72), addr(73), addr(74)}, ",")
	startNode(t, "u71", ip(71), port, web, spec)
	startNode(t, "u72", ip(72), port, web, spec)
	startNode(t, "u73", ip(73), port, web, spec, "-udp=false")
	startNode(t, "u74", ip(74), port, web, spec, "-mesh-udp=false")
	base := func(i int) string { return fmt.Sprintf("http://%s:%d", ip(i), web) }

	// Every cell measured once with the path MTU searched: the first
	// round's.
	rowOf := func(i int) mesh.Row {
		deadline := time.Now().Add(15 * time.Second)
		for {
			r := getJSON[mesh.Row](t, base(i)+"/mesh.json")
			done := len(r.Destinations) == 3
			for _, c := range r.Destinations {
				done = done && c.OK && c.Host != c.Address
			}
			if done || time.Now().After(deadline) {
				return r
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, i := range []int{71, 72, 73} {
		r := rowOf(i)
		require.Len(t, r.Destinations, 3, "row of %s", r.Node)
		for _, c := range r.Destinations {
			t.Run(r.Node+" to "+c.Host, func(t *testing.T) {
				assert.True(t, c.OK, "datagram loss is no TCP class")
				require.NotNil(t, c.LossRatio)
				if c.Host == "u73" {
					assert.Equal(t, 1.0, *c.LossRatio, "u73 answers no datagrams")
					assert.Nil(t, c.UDPRTTMS)
					assert.Nil(t, c.Hops)
					assert.Zero(t, c.PathMTU)
					assert.NotEmpty(t, c.PMTUError)
					return
				}
				assert.Equal(t, 0.0, *c.LossRatio)
				require.NotNil(t, c.UDPRTTMS)
				assert.Positive(t, *c.UDPRTTMS)
				require.NotNil(t, c.Hops)
				assert.Equal(t, 0, *c.Hops)
				assert.Equal(t, 65535, c.PathMTU, "loopback's MTU, capped at IPv4's largest packet")
				assert.Equal(t, 65535, c.InterfaceMTU)
				assert.Empty(t, c.PMTUReportedBy)
				assert.False(t, c.BlackHole)
				assert.Empty(t, c.PMTUError)
				assert.Positive(t, c.PMTURound)
			})
		}
	}
	for _, c := range rowOf(74).Destinations {
		assert.Nil(t, c.LossRatio, "-mesh-udp=false: %s", c.Host)
		assert.Zero(t, c.PathMTU, "-mesh-udp=false: %s", c.Host)
	}

	// The lossy cell travels in full, its code ok.
	var compact mesh.CompactRow
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		// Past the first rounds: the lossy cell's datagrams sent, and lost.
		if compact = getJSON[mesh.CompactRow](t, base(71)+"/mesh.json?form=compact"); compact.Round > 2 || time.Now().After(deadline) {
			break
		}
	}
	require.Len(t, compact.Cells, 1, "only the lossy cell in full: %+v", compact.Cells)
	assert.Equal(t, addr(73), compact.Columns[compact.Cells[0].Column])
	assert.Equal(t, "000", compact.Codes)
	m := waitFor(t, base(71), 15*time.Second, func(m *mesh.Matrix) bool {
		r := row(m, "u72")
		return r != nil && !r.Stale && len(r.Cells) == 1
	})
	r := row(m, "u72")
	assert.Equal(t, "u73", m.Columns[r.Cells[0].Column].Host)
	require.NotNil(t, r.Cells[0].LossRatio)
	assert.Equal(t, 1.0, *r.Cells[0].LossRatio)

	for _, path := range []string{"/mesh.json", "/mesh.json?form=compact", "/matrix.json"} {
		_, body, err := get(base(71) + path)
		require.NoError(t, err)
		assert.NoError(t, smiletest.CheckJSON(bytes.TrimSpace(body)), "%s: %s", path, body)
	}

	// The metrics: the lossy destination's series under the default
	// -mesh-metrics failing, and the per-node counts.
	_, body, err := get(base(71) + "/metrics")
	require.NoError(t, err)
	metrics := string(body)
	for _, line := range []string{
		fmt.Sprintf(`smile_mesh_loss_ratio{address=%q,destination="u73",family="ipv4",source="u71"} 1`, addr(73)),
		`smile_mesh_lossy_destinations{family="ipv4",source="u71"} 1`,
		`smile_mesh_narrow_path_destinations{family="ipv4",source="u71"} 0`,
	} {
		assert.Contains(t, metrics, line+"\n")
	}
	assert.NotContains(t, metrics, fmt.Sprintf(`smile_mesh_loss_ratio{address=%q`, addr(72)), "an ok cell has no series under failing")
	assert.NotContains(t, metrics, fmt.Sprintf(`smile_mesh_probe_success{address=%q`, addr(73)), "nor the TCP series of a lossy ok one")
}

// TestPathMTUSearchedWhenAGreetingFailsAfterConnecting: a peer that
// accepts and never greets (timeout after connecting, a black hole's
// signature) has its path MTU searched every round, where an ok peer's
// waits for its 10th probe.
func TestPathMTUSearchedWhenAGreetingFailsAfterConnecting(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	mute, err := net.Listen("tcp", fmt.Sprintf("127.0.0.79:%d", port))
	require.NoError(t, err)
	t.Cleanup(func() { _ = mute.Close() })
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() }) // held open, silent
		}
	}()
	smiletest.UDPResponder(t, "udp4", fmt.Sprintf("127.0.0.79:%d", port), "Smile from the server", false)
	spec := fmt.Sprintf("127.0.0.80:%d,127.0.0.79:%d,127.0.0.78:%d", port, port, port)
	startGreeters(t, []string{"127.0.0.78"}, port)
	startNode(t, "b80", "127.0.0.80", port, web, spec)
	base := "http://127.0.0.80:" + fmt.Sprint(web)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := getJSON[mesh.Row](t, base+"/mesh.json")
		if r.Round >= 3 && len(r.Destinations) == 2 {
			byAddr := map[string]mesh.Cell{}
			for _, c := range r.Destinations {
				byAddr[c.Address] = c
			}
			silent, ok := byAddr[fmt.Sprintf("127.0.0.79:%d", port)], byAddr[fmt.Sprintf("127.0.0.78:%d", port)]
			if silent.Round >= 3 && ok.Round >= 3 {
				assert.Equal(t, "timeout", silent.Class)
				assert.Equal(t, silent.Round, silent.PMTURound, "searched in the round of the failed greeting")
				assert.Equal(t, 65535, silent.PathMTU)
				assert.True(t, ok.OK)
				assert.Equal(t, uint64(1), ok.PMTURound, "an ok peer: its first probe's search, the next at its 11th")
				return
			}
		}
		require.True(t, time.Now().Before(deadline), "no third round: %+v", r)
	}
}

// TestPathMTUSearchedAgainOnceAPeerAnswers: a peer not yet listening when
// the mesh starts fails its first probe's search (refused); once its
// datagrams are answered the search runs again at the next probe, so the
// cell shows the path MTU within a round, not that first error for ten.
func TestPathMTUSearchedAgainOnceAPeerAnswers(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	late := fmt.Sprintf("127.0.0.83:%d", port)
	spec := fmt.Sprintf("127.0.0.84:%d,%s", port, late)
	startNode(t, "b84", "127.0.0.84", port, web, spec)
	base := "http://127.0.0.84:" + fmt.Sprint(web)
	cellOf := func(want func(mesh.Cell) bool, what string) mesh.Cell {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			for _, c := range getJSON[mesh.Row](t, base+"/mesh.json").Destinations {
				if c.Address == late && want(c) {
					return c
				}
			}
			require.True(t, time.Now().Before(deadline), "no cell of %s %s", late, what)
		}
	}
	first := cellOf(func(c mesh.Cell) bool { return c.PMTURound > 0 }, "searched")
	assert.Equal(t, "refused", first.Class)
	assert.Equal(t, "connection refused, reported by 127.0.0.83", first.PMTUError)
	startGreeters(t, []string{"127.0.0.83"}, port)
	up := cellOf(func(c mesh.Cell) bool { return c.OK }, "ok")
	again := cellOf(func(c mesh.Cell) bool { return c.Round > up.Round }, "a round after it turned ok")
	assert.Empty(t, again.PMTUError)
	assert.Equal(t, 65535, again.PathMTU)
	assert.LessOrEqual(t, again.PMTURound, up.Round+1, "searched again within a round of the datagrams being answered")
	assert.Less(t, again.PMTURound-first.PMTURound, uint64(10), "not at the 10th probe")
}
