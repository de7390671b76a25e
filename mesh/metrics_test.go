package mesh

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestMesh is a Mesh named node that runs no rounds: its tests set
// cells as rounds would.
func newTestMesh(t *testing.T, node string) *Mesh {
	t.Helper()
	m, err := New(Options{Interval: 10 * time.Second, Timeout: 2 * time.Second, MaxPeers: 100, Grace: time.Minute, Node: node},
		slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return m
}

// exposition is what /metrics would say of c's metrics of these names,
// in this order.
func exposition(t *testing.T, c prometheus.Collector, names ...string) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var b strings.Builder
	for _, name := range names {
		for _, mf := range mfs {
			if mf.GetName() == name {
				_, err := expfmt.MetricFamilyToText(&b, mf)
				require.NoError(t, err)
			}
		}
	}
	return b.String()
}

// probeOutcome is one probe a test records in a cell.
type probeOutcome struct {
	at    time.Time
	class string // "" for ok
	took  time.Duration
}

// setCell records outcomes in the cell of addr, as rounds 1, 2, … would,
// and adds addr to the peer set.
func setCell(m *Mesh, addr string, owner string, outcomes ...probeOutcome) {
	a := netip.MustParseAddrPort(addr)
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &cell{addr: a}
	for i, o := range outcomes {
		c.record(o.at, uint64(i+1), o.class, "", o.took, familyOf(a))
	}
	m.cells[a] = c
	m.peers = append(m.peers, a)
	if owner != "" {
		m.owners[a] = owner
	}
}

// TestMetricsNameTheClassAndKeepFailingSince: the per-destination series
// as blackbox_exporter's users read them. The class is on the success
// series; a failure that changes class (timeout, then refused) is failing
// since its first failure; a cell that never succeeded says 0 for its last
// success; a cell that is ok has no failing-since.
func TestMetricsNameTheClassAndKeepFailingSince(t *testing.T) {
	m := newTestMesh(t, "n1")
	t0 := time.UnixMilli(1_796_000_000_000)
	sec := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	setCell(m, "127.0.0.2:7890", "n2", probeOutcome{sec(0), "", 300 * time.Microsecond}, probeOutcome{sec(10), "", 250 * time.Microsecond})
	setCell(m, "127.0.0.3:7890", "", probeOutcome{sec(0), "timeout", 2 * time.Second}, probeOutcome{sec(10), "refused", 100 * time.Microsecond})
	setCell(m, "[::1]:7890", "n2", probeOutcome{sec(0), "", time.Millisecond}, probeOutcome{sec(10), "timeout", 2 * time.Second},
		probeOutcome{sec(20), "refused", 80 * time.Microsecond})

	want := `
# HELP smile_mesh_probe_success 1 when the last mesh probe of the destination address over its family succeeded, else 0; class is ok or smile-client's failure class.
# TYPE smile_mesh_probe_success gauge
smile_mesh_probe_success{address="127.0.0.2:7890",class="ok",destination="n2",family="ipv4",source="n1"} 1
smile_mesh_probe_success{address="127.0.0.3:7890",class="refused",destination="127.0.0.3:7890",family="ipv4",source="n1"} 0
smile_mesh_probe_success{address="[::1]:7890",class="refused",destination="n2",family="ipv6",source="n1"} 0
# HELP smile_mesh_probe_duration_seconds How long the last mesh probe of the destination address took, connect to greeting read (or failure).
# TYPE smile_mesh_probe_duration_seconds gauge
smile_mesh_probe_duration_seconds{address="127.0.0.2:7890",destination="n2",family="ipv4",source="n1"} 0.00025
smile_mesh_probe_duration_seconds{address="127.0.0.3:7890",destination="127.0.0.3:7890",family="ipv4",source="n1"} 0.0001
smile_mesh_probe_duration_seconds{address="[::1]:7890",destination="n2",family="ipv6",source="n1"} 8e-05
# HELP smile_mesh_probe_failing_since_timestamp_seconds When the destination address's current run of failed probes began (Unix time), whatever their classes; absent while it is ok.
# TYPE smile_mesh_probe_failing_since_timestamp_seconds gauge
smile_mesh_probe_failing_since_timestamp_seconds{address="127.0.0.3:7890",destination="127.0.0.3:7890",family="ipv4",source="n1"} 1.796e+09
smile_mesh_probe_failing_since_timestamp_seconds{address="[::1]:7890",destination="n2",family="ipv6",source="n1"} 1.79600001e+09
# HELP smile_mesh_probe_last_success_timestamp_seconds When the last successful mesh probe of the destination address ended (Unix time); 0 if none has succeeded yet.
# TYPE smile_mesh_probe_last_success_timestamp_seconds gauge
smile_mesh_probe_last_success_timestamp_seconds{address="127.0.0.2:7890",destination="n2",family="ipv4",source="n1"} 1.79600001e+09
smile_mesh_probe_last_success_timestamp_seconds{address="127.0.0.3:7890",destination="127.0.0.3:7890",family="ipv4",source="n1"} 0
smile_mesh_probe_last_success_timestamp_seconds{address="[::1]:7890",destination="n2",family="ipv6",source="n1"} 1.796e+09
`
	assert.Equal(t, strings.TrimPrefix(want, "\n"), exposition(t, m,
		"smile_mesh_probe_success", "smile_mesh_probe_duration_seconds",
		"smile_mesh_probe_failing_since_timestamp_seconds", "smile_mesh_probe_last_success_timestamp_seconds"))

	// The row says the same: since is the first failure, not the change
	// of class.
	r := m.Row()
	require.Len(t, r.Destinations, 3)
	got := map[string]float64{}
	for _, c := range r.Destinations {
		got[c.Address] = c.SinceUnixMS
	}
	assert.Equal(t, map[string]float64{"127.0.0.2:7890": unixMS(sec(0)), "127.0.0.3:7890": unixMS(sec(0)), "[::1]:7890": unixMS(sec(10))}, got)
}

// TestCellSinceMovesOnlyBetweenOKAndFailing: since, outcome by outcome.
func TestCellSinceMovesOnlyBetweenOKAndFailing(t *testing.T) {
	t0 := time.Unix(1_796_000_000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	cases := []struct {
		name      string
		classes   []string // one probe a second, from t0
		wantSince int      // seconds after t0
		wantOK    int      // seconds after t0 of the last success; -1: never
	}{
		{"ok throughout", []string{"", "", ""}, 0, 2},
		{"failing, class changing", []string{"timeout", "refused", "reset"}, 0, -1},
		{"ok then failing, class changing", []string{"", "timeout", "refused"}, 1, 0},
		{"failing then ok", []string{"timeout", "refused", ""}, 2, 2},
		{"ok, failing, ok, failing", []string{"", "refused", "", "timeout", "refused"}, 3, 2},
		{"one class throughout", []string{"refused", "refused"}, 0, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c cell
			for i, class := range tc.classes {
				c.record(at(i), uint64(i+1), class, "", time.Millisecond, "ipv4")
			}
			assert.Equal(t, at(tc.wantSince), c.since, "since")
			if tc.wantOK < 0 {
				assert.True(t, c.lastOK.IsZero(), "never succeeded: %v", c.lastOK)
			} else {
				assert.Equal(t, at(tc.wantOK), c.lastOK, "last success")
			}
		})
	}
}

// TestLatencyHistogram: every probe's time with source, family and class,
// in classic buckets from 50 µs to 5 s, and as a native histogram for a
// scraper that asks for one.
func TestLatencyHistogram(t *testing.T) {
	m := newTestMesh(t, "n1")
	for _, d := range []time.Duration{40 * time.Microsecond, 70 * time.Microsecond, 180 * time.Microsecond, 3 * time.Millisecond} {
		m.latency.WithLabelValues("ipv4", "ok").Observe(d.Seconds())
		m.probes.WithLabelValues("ipv4", "ok").Inc()
	}
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(m))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var found bool
	for _, mf := range mfs {
		switch mf.GetName() {
		case "smile_mesh_probe_latency_seconds":
			found = true
			require.Len(t, mf.GetMetric(), 1)
			met := mf.GetMetric()[0]
			labels := map[string]string{}
			for _, l := range met.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			assert.Equal(t, map[string]string{"source": "n1", "family": "ipv4", "class": "ok"}, labels)
			h := met.GetHistogram()
			var bounds []float64
			var counts []uint64
			for _, b := range h.GetBucket() {
				bounds = append(bounds, b.GetUpperBound())
				counts = append(counts, b.GetCumulativeCount())
			}
			assert.Equal(t, []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}, bounds)
			assert.Equal(t, []uint64{1, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4}, counts, "loopback times resolved below 0.5 ms")
			assert.Equal(t, int32(3), h.GetSchema(), "native buckets of 2^(1/8), the nearest to a factor of 1.1")
			assert.Equal(t, uint64(4), h.GetSampleCount())
		case "smile_mesh_probes_total":
			require.Len(t, mf.GetMetric(), 1)
			assert.Len(t, mf.GetMetric()[0].GetLabel(), 3, "source, family and class")
		}
	}
	assert.True(t, found, "no smile_mesh_probe_latency_seconds")
}
