package mesh

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestMesh is a Mesh named node with -mesh-metrics mode that runs no
// rounds: its tests set cells as rounds would.
func newTestMesh(t *testing.T, node, mode string) *Mesh {
	t.Helper()
	m, err := New(Options{Interval: 10 * time.Second, Timeout: 2 * time.Second, MaxPeers: 100, Grace: time.Minute, Node: node, Metrics: mode},
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
	m := newTestMesh(t, "n1", MetricsAll)
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
	m := newTestMesh(t, "n1", "")
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

// meshOf is node's Mesh with -mesh-metrics mode and peers peer addresses
// of nodes with families families (1: IPv4; 2: dual-stack, half the
// addresses IPv6), of which failing IPv4 ones are refused, the others ok;
// each family and class has had probes, as rounds would leave it.
func meshOf(t *testing.T, mode string, families, peers, failing int) *Mesh {
	t.Helper()
	m := newTestMesh(t, "n0", mode)
	now := time.Now()
	for i := range peers {
		addr, class := fmt.Sprintf("10.%d.%d.%d:7890", i>>16, i>>8&0xff, i&0xff), ""
		if families == 2 && i%2 == 1 {
			addr = fmt.Sprintf("[fd00::%x]:7890", i)
		} else if i/families < failing {
			class = "refused"
		}
		setCell(m, addr, fmt.Sprintf("node-%d", i/families), probeOutcome{now, class, 300 * time.Microsecond})
		if class == "" {
			class = "ok"
		}
		m.latency.WithLabelValues(familyOf(netip.MustParseAddrPort(addr)), class).Observe(0.0003)
		m.probes.WithLabelValues(familyOf(netip.MustParseAddrPort(addr)), class).Inc()
	}
	slices.SortFunc(m.peers, netip.AddrPort.Compare)
	return m
}

// seriesOf counts the series m exports, as Prometheus stores them (a
// classic histogram is a series per bucket, its sum and its count).
func seriesOf(t *testing.T, m *Mesh) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(exposition(t, m, meshMetricNames...), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n
}

var meshMetricNames = []string{"smile_mesh_probe_success", "smile_mesh_probe_duration_seconds",
	"smile_mesh_probe_failing_since_timestamp_seconds", "smile_mesh_probe_last_success_timestamp_seconds",
	"smile_mesh_destinations", "smile_mesh_probe_max_duration_seconds",
	"smile_mesh_matrix_stale_rows", "smile_mesh_matrix_timestamp_seconds", "smile_mesh_peers", "smile_mesh_discovery_up",
	"smile_mesh_rounds_total", "smile_mesh_round_duration_seconds", "smile_mesh_probe_latency_seconds", "smile_mesh_probes_total"}

// TestSeriesPerNode: what each -mesh-metrics costs a node, counted from
// what it exports. docs/mesh.md's sizing at 1,000 and 5,000 nodes is
// these counts times the nodes: a node of a dual-stack cluster of N nodes
// has 2(N-1) peer addresses.
func TestSeriesPerNode(t *testing.T) {
	cases := []struct {
		mode                     string
		families, peers, failing int
		want                     int
	}{
		// The summary: a count per family and class, the worst ok time
		// per family, six per node, and a histogram (19) and counter per
		// family and class seen.
		{MetricsSummary, 2, 398, 0, 50},
		{MetricsSummary, 2, 1998, 0, 50},
		{MetricsSummary, 2, 1998, 10, 71},
		// failing: four more per failing destination address.
		{MetricsFailing, 2, 398, 0, 50},
		{MetricsFailing, 2, 1998, 0, 50},
		{MetricsFailing, 2, 1998, 10, 71 + 4*10},
		{MetricsFailing, 2, 9998, 10, 71 + 4*10},
		// all: three per ok destination address, four per failing one.
		{MetricsAll, 2, 398, 0, 50 + 3*398},
		{MetricsAll, 2, 1998, 0, 50 + 3*1998},
		{MetricsAll, 2, 1998, 10, 71 + 3*1988 + 4*10},
		{MetricsAll, 2, 9998, 0, 50 + 3*9998},
		// Single-stack: one family's summary, histogram and counter.
		{MetricsFailing, 1, 199, 0, 28},
		{MetricsFailing, 1, 999, 0, 28},
		{MetricsFailing, 1, 999, 10, 28 + 21 + 4*10},
		{MetricsAll, 1, 199, 0, 28 + 3*199},
		{MetricsAll, 1, 999, 0, 28 + 3*999},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %d families %d peers %d failing", c.mode, c.families, c.peers, c.failing), func(t *testing.T) {
			got := seriesOf(t, meshOf(t, c.mode, c.families, c.peers, c.failing))
			assert.Equal(t, c.want, got)
			t.Logf("-mesh-metrics %s, %d peer addresses over %d families, %d failing: %d series per node", c.mode, c.peers, c.families, c.failing, got)
		})
	}
}

// TestMetricsModes: the summary is there in every mode and counts every
// cell; the per-destination series are none, the failing ones' or all.
func TestMetricsModes(t *testing.T) {
	t0 := time.UnixMilli(1_796_000_000_000)
	summary := `# HELP smile_mesh_destinations Destination addresses whose last mesh probe over the family had the class (ok or smile-client's failure class); ok is there, 0 or more, for every family with a destination.
# TYPE smile_mesh_destinations gauge
smile_mesh_destinations{class="ok",family="ipv4",source="n1"} 2
smile_mesh_destinations{class="ok",family="ipv6",source="n1"} 0
smile_mesh_destinations{class="refused",family="ipv4",source="n1"} 1
smile_mesh_destinations{class="timeout",family="ipv6",source="n1"} 1
# HELP smile_mesh_probe_max_duration_seconds The longest last-probe time among the family's destinations whose last probe succeeded.
# TYPE smile_mesh_probe_max_duration_seconds gauge
smile_mesh_probe_max_duration_seconds{family="ipv4",source="n1"} 0.0007
`
	cases := []struct {
		mode string
		want []string // addresses with a success series
	}{
		{MetricsSummary, nil},
		{MetricsFailing, []string{"127.0.0.4:7890", "[::1]:7890"}},
		{MetricsAll, []string{"127.0.0.2:7890", "127.0.0.3:7890", "127.0.0.4:7890", "[::1]:7890"}},
		{"", []string{"127.0.0.4:7890", "[::1]:7890"}}, // the default: failing
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			m := newTestMesh(t, "n1", c.mode)
			setCell(m, "127.0.0.2:7890", "n2", probeOutcome{t0, "", 700 * time.Microsecond})
			setCell(m, "127.0.0.3:7890", "n3", probeOutcome{t0, "", 200 * time.Microsecond})
			setCell(m, "127.0.0.4:7890", "n4", probeOutcome{t0, "refused", 100 * time.Microsecond})
			setCell(m, "[::1]:7890", "n2", probeOutcome{t0, "", time.Millisecond}, probeOutcome{t0, "timeout", 2 * time.Second})
			assert.Equal(t, summary, exposition(t, m, "smile_mesh_destinations", "smile_mesh_probe_max_duration_seconds"))
			var got []string
			for _, line := range strings.Split(exposition(t, m, "smile_mesh_probe_success"), "\n") {
				if _, rest, ok := strings.Cut(line, `address="`); ok {
					got = append(got, rest[:strings.IndexByte(rest, '"')])
				}
			}
			assert.Equal(t, c.want, got)
		})
	}
}
