package mesh

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Which per-destination series /metrics has (-mesh-metrics). A node has
// one cell per peer address, so per-destination series grow with the
// cluster, and a cluster with them all grows with its square: summary has
// none (the per-node counts only), failing those of the destinations
// failing now (none in a healthy cluster), all every cell's.
const (
	MetricsSummary = "summary"
	MetricsFailing = "failing"
	MetricsAll     = "all"
	DefaultMetrics = MetricsFailing
)

// MetricsChoices are the values of -mesh-metrics.
var MetricsChoices = []string{MetricsSummary, MetricsFailing, MetricsAll}

// BadMetricsError is the error for a -mesh-metrics that is none of
// MetricsChoices.
func BadMetricsError(v string) error {
	return fmt.Errorf("bad -mesh-metrics %q: want one of %s", v, strings.Join(MetricsChoices, ", "))
}

// The mesh's metrics, named as blackbox_exporter names a probe's so that
// its users' queries and alerts carry over (docs/mesh.md maps one to the
// other): probe_success is smile_mesh_probe_success, probe_duration_seconds
// (the last probe's time) is smile_mesh_probe_duration_seconds. The outcome
// has one label name everywhere, class ("ok" or smile-client's failure
// class), and it sits on the success series itself, so that an alert names
// the class without a join.
//
// Every per-destination series is made at scrape time from the current
// cells, so its labels are bounded by the peer set and a peer dropped from
// it leaves no series behind.
var (
	destLabels  = []string{"source", "destination", "address", "family"}
	descSuccess = prometheus.NewDesc("smile_mesh_probe_success",
		"1 when the last mesh probe of the destination address over its family succeeded, else 0; class is ok or smile-client's failure class.",
		[]string{"source", "destination", "address", "family", "class"}, nil)
	descDuration = prometheus.NewDesc("smile_mesh_probe_duration_seconds",
		"How long the last mesh probe of the destination address took, connect to greeting read (or failure).",
		destLabels, nil)
	descFailingSince = prometheus.NewDesc("smile_mesh_probe_failing_since_timestamp_seconds",
		"When the destination address's current run of failed probes began (Unix time), whatever their classes; absent while it is ok.",
		destLabels, nil)
	descLastOK = prometheus.NewDesc("smile_mesh_probe_last_success_timestamp_seconds",
		"When the last successful mesh probe of the destination address ended (Unix time); 0 if none has succeeded yet.",
		destLabels, nil)
	descDestinations = prometheus.NewDesc("smile_mesh_destinations",
		"Destination addresses whose last mesh probe over the family had the class (ok or smile-client's failure class); ok is there, 0 or more, for every family with a destination.",
		[]string{"source", "family", "class"}, nil)
	descMaxDuration = prometheus.NewDesc("smile_mesh_probe_max_duration_seconds",
		"The longest last-probe time among the family's destinations whose last probe succeeded.",
		[]string{"source", "family"}, nil)
	descPathMTU = prometheus.NewDesc("smile_mesh_path_mtu_bytes",
		"The path MTU the last search found towards the destination address: the largest whole IP packet that crossed with don't-fragment set (searched every 10th probe, when a greeting fails after connecting, and when datagrams are answered again after a failed search).",
		destLabels, nil)
	descLoss = prometheus.NewDesc("smile_mesh_loss_ratio",
		"The share of the last round's probe datagrams to the destination address that were never answered, 0 to 1.",
		destLabels, nil)
	descHops = prometheus.NewDesc("smile_mesh_hops",
		"Routers crossed towards the destination address, from the TTL (hop limit) of the last answer to a probe datagram.",
		destLabels, nil)
	descLossy = prometheus.NewDesc("smile_mesh_lossy_destinations",
		"Destination addresses of the family whose last round's probe datagrams were not all answered.",
		[]string{"source", "family"}, nil)
	descNarrow = prometheus.NewDesc("smile_mesh_narrow_path_destinations",
		"Destination addresses of the family whose path MTU is below this node's interface MTU, or a black hole.",
		[]string{"source", "family"}, nil)
	descStaleRows = prometheus.NewDesc("smile_mesh_matrix_stale_rows",
		"Rows of the last matrix this node gathered (for the page or /matrix.json) that are stale: peers that gave no row; see smile_mesh_matrix_timestamp_seconds.",
		[]string{"source"}, nil)
	descMatrixTime = prometheus.NewDesc("smile_mesh_matrix_timestamp_seconds",
		"When this node last gathered the matrix (Unix time); 0 if it never has: nobody asked for it.",
		[]string{"source"}, nil)
	descPeers = prometheus.NewDesc("smile_mesh_peers",
		"Peer addresses in the mesh's current peer set (0 when the -mesh name does not resolve: see smile_mesh_discovery_up).",
		[]string{"source"}, nil)
	descDiscovery = prometheus.NewDesc("smile_mesh_discovery_up",
		"1 when the last lookup of every -mesh entry succeeded, else 0 (the reason is in /mesh.json and the log).",
		[]string{"source"}, nil)
	descRounds = prometheus.NewDesc("smile_mesh_rounds_total",
		"Mesh rounds completed.", []string{"source"}, nil)
	descRoundTime = prometheus.NewDesc("smile_mesh_round_duration_seconds",
		"How long the last mesh round took: lookup and every probe of it.", []string{"source"}, nil)
)

// latencyBuckets are the classic buckets of smile_mesh_probe_latency_seconds:
// from 50 µs, where loopback greetings end, through LAN times, to the
// longest -mesh-timeout worth having. A scraper that asks for native
// histograms gets those too (latencyFactor), at a tenth's resolution.
var latencyBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// latencyFactor is the native histogram's growth from one bucket to the
// next: 1.1 gives buckets of 2^(1/8), some 9 % wide.
const latencyFactor = 1.1

// newProbeMetrics are the histogram of every probe's time and the counter
// of probes, labelled like the per-destination series: source (this
// node), family and class.
func newProbeMetrics(node string) (*prometheus.HistogramVec, *prometheus.CounterVec) {
	src := prometheus.Labels{"source": node}
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "smile_mesh_probe_latency_seconds",
			Help:                            "Time from connect to greeting read (or failure) of every mesh probe, by family and class (ok or the failure class).",
			ConstLabels:                     src,
			Buckets:                         latencyBuckets,
			NativeHistogramBucketFactor:     latencyFactor,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"family", "class"}),
		prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "smile_mesh_probes_total",
			Help:        "Mesh probes made, by family and class (ok or the failure class).",
			ConstLabels: src,
		}, []string{"family", "class"})
}

// Describe is part of prometheus.Collector.
func (m *Mesh) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSuccess, descDuration, descFailingSince, descLastOK, descDestinations, descMaxDuration,
		descPathMTU, descLoss, descHops, descLossy, descNarrow, descStaleRows, descMatrixTime, descPeers, descDiscovery, descRounds, descRoundTime} {
		ch <- d
	}
	m.latency.Describe(ch)
	m.probes.Describe(ch)
}

// destSeries is what the per-destination series say of one cell.
type destSeries struct {
	dst, addr, family, class string
	duration                 float64
	since, lastOK            time.Time
	tcp                      bool // the TCP series: off for an ok cell sent for its datagrams alone
	path                     Cell // the datagrams' fields (udp.go)
}

// familyCount is the summary of one family's cells: how many of each
// class, and the longest time of an ok one.
type familyCount struct {
	classes map[string]int // "ok" or the failure class
	maxOK   time.Duration
	anyOK   bool
	// Of the datagrams (udp.go): whether any were sent, how many
	// destinations lost some, how many met a narrower path MTU.
	udp           bool
	lossy, narrow int
}

// Collect is part of prometheus.Collector: the mesh's state as it is now,
// copied under the lock and sent after it, so that a slow scrape never
// holds up the probes. The summary counts every cell; the per-destination
// series are those -mesh-metrics asks for.
func (m *Mesh) Collect(ch chan<- prometheus.Metric) {
	src, mode := m.o.Node, m.o.Metrics
	m.mu.Lock()
	var cells []destSeries
	families := map[string]*familyCount{}
	for _, c := range m.cells {
		if c.round == 0 {
			continue
		}
		f := families[c.family]
		if f == nil {
			f = &familyCount{classes: map[string]int{"ok": 0}}
			families[c.family] = f
		}
		if c.class == "" {
			f.classes["ok"]++
			f.maxOK, f.anyOK = max(f.maxOK, c.latency), true
		} else {
			f.classes[c.class]++
		}
		notable := c.datagramsNotable()
		if c.udpSent > 0 {
			f.udp = true
			if c.lossy() {
				f.lossy++
			}
			if c.narrowPath() {
				f.narrow++
			}
		}
		tcp := mode == MetricsAll || mode == MetricsFailing && c.class != ""
		if tcp || mode == MetricsFailing && notable {
			d := destSeries{m.hostOf(c.addr), c.addr.String(), c.family, c.class, c.latency.Seconds(), c.since, c.lastOK, tcp, Cell{}}
			c.datagramsJSON(&d.path)
			cells = append(cells, d)
		}
	}
	peers, discoveryOK, rounds, roundTook := len(m.peers), m.discoveryErr == "", m.round, m.roundTook
	m.mu.Unlock()

	for _, c := range cells {
		collectDest(ch, src, c)
	}
	for family, f := range families {
		for class, n := range f.classes {
			ch <- prometheus.MustNewConstMetric(descDestinations, prometheus.GaugeValue, float64(n), src, family, class)
		}
		if f.anyOK {
			ch <- prometheus.MustNewConstMetric(descMaxDuration, prometheus.GaugeValue, f.maxOK.Seconds(), src, family)
		}
		if f.udp {
			ch <- prometheus.MustNewConstMetric(descLossy, prometheus.GaugeValue, float64(f.lossy), src, family)
			ch <- prometheus.MustNewConstMetric(descNarrow, prometheus.GaugeValue, float64(f.narrow), src, family)
		}
	}
	disc := 0.0
	if discoveryOK {
		disc = 1
	}
	stale, at := m.lastMatrixStale()
	ch <- prometheus.MustNewConstMetric(descStaleRows, prometheus.GaugeValue, float64(stale), src)
	ch <- prometheus.MustNewConstMetric(descMatrixTime, prometheus.GaugeValue, unixSeconds(at), src)
	ch <- prometheus.MustNewConstMetric(descPeers, prometheus.GaugeValue, float64(peers), src)
	ch <- prometheus.MustNewConstMetric(descDiscovery, prometheus.GaugeValue, disc, src)
	ch <- prometheus.MustNewConstMetric(descRounds, prometheus.CounterValue, float64(rounds), src)
	ch <- prometheus.MustNewConstMetric(descRoundTime, prometheus.GaugeValue, roundTook.Seconds(), src)
	m.latency.Collect(ch)
	m.probes.Collect(ch)
}

// collectDest sends one cell's series.
func collectDest(ch chan<- prometheus.Metric, src string, c destSeries) {
	labels := []string{src, c.dst, c.addr, c.family}
	if p := c.path; p.LossRatio != nil {
		ch <- prometheus.MustNewConstMetric(descLoss, prometheus.GaugeValue, *p.LossRatio, labels...)
	}
	if p := c.path; p.Hops != nil {
		ch <- prometheus.MustNewConstMetric(descHops, prometheus.GaugeValue, float64(*p.Hops), labels...)
	}
	if p := c.path; p.PathMTU > 0 {
		ch <- prometheus.MustNewConstMetric(descPathMTU, prometheus.GaugeValue, float64(p.PathMTU), labels...)
	}
	if !c.tcp {
		return
	}
	ok, class := 0.0, c.class
	if class == "" {
		ok, class = 1, "ok"
	}
	ch <- prometheus.MustNewConstMetric(descSuccess, prometheus.GaugeValue, ok, src, c.dst, c.addr, c.family, class)
	ch <- prometheus.MustNewConstMetric(descDuration, prometheus.GaugeValue, c.duration, src, c.dst, c.addr, c.family)
	if ok == 0 {
		ch <- prometheus.MustNewConstMetric(descFailingSince, prometheus.GaugeValue, unixSeconds(c.since), src, c.dst, c.addr, c.family)
	}
	ch <- prometheus.MustNewConstMetric(descLastOK, prometheus.GaugeValue, unixSeconds(c.lastOK), src, c.dst, c.addr, c.family)
}

// lastMatrixStale is how many rows of the last matrix gathered were
// stale, and when it was gathered (zero: never).
func (m *Mesh) lastMatrixStale() (stale int, at time.Time) {
	m.matrix.mu.Lock()
	defer m.matrix.mu.Unlock()
	return m.matrix.stale, m.matrix.at
}

// unixSeconds is t as a Prometheus timestamp gauge, in milliseconds'
// precision; 0 for the zero time (never).
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}
