package mesh

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The mesh's metrics. Every per-destination series is made at scrape time
// from the current peer set, so its labels are bounded by it and a peer
// dropped from the set leaves no series behind; the histogram and counter
// have only family and result (the fixed classes) as labels.
var (
	descUp = prometheus.NewDesc("smile_mesh_probe_up",
		"1 when the last mesh probe of the destination address over its family succeeded, else 0.",
		[]string{"source", "destination", "address", "family"}, nil)
	descClass = prometheus.NewDesc("smile_mesh_probe_class",
		"1 for the class of the last mesh probe of the destination address (ok, or the failure class of smile-client).",
		[]string{"source", "destination", "address", "family", "class"}, nil)
	descLatency = prometheus.NewDesc("smile_mesh_probe_latency_seconds",
		"How long the last mesh probe of the destination address took, connect to greeting read (or failure).",
		[]string{"source", "destination", "address", "family"}, nil)
	descLastOK = prometheus.NewDesc("smile_mesh_probe_last_success_timestamp_seconds",
		"When the last successful mesh probe of the destination address ended (Unix time); absent if none yet.",
		[]string{"source", "destination", "address", "family"}, nil)
	descSince = prometheus.NewDesc("smile_mesh_probe_since_timestamp_seconds",
		"When the outcome (ok, or the class) of the destination address last changed (Unix time).",
		[]string{"source", "destination", "address", "family"}, nil)
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

// Describe is part of prometheus.Collector.
func (m *Mesh) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descClass, descLatency, descLastOK, descSince, descPeers, descDiscovery, descRounds, descRoundTime} {
		ch <- d
	}
	m.latency.Describe(ch)
	m.probes.Describe(ch)
}

// Collect is part of prometheus.Collector: the mesh's state as it is now,
// copied under the lock and sent after it, so that a slow scrape never
// holds up the probes.
func (m *Mesh) Collect(ch chan<- prometheus.Metric) {
	src := m.o.Node
	type series struct {
		dst, addr, family, class string
		latency                  float64
		since, lastOK            time.Time
	}
	m.mu.Lock()
	cells := make([]series, 0, len(m.cells))
	for _, c := range m.cells {
		if c.round > 0 {
			cells = append(cells, series{m.hostOf(c.addr), c.addr.String(), c.family, c.class, c.latency.Seconds(), c.since, c.lastOK})
		}
	}
	peers, discoveryOK, rounds, roundTook := len(m.peers), m.discoveryErr == "", m.round, m.roundTook
	m.mu.Unlock()

	for _, c := range cells {
		up, class := 0.0, c.class
		if class == "" {
			up, class = 1, "ok"
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, src, c.dst, c.addr, c.family)
		ch <- prometheus.MustNewConstMetric(descClass, prometheus.GaugeValue, 1, src, c.dst, c.addr, c.family, class)
		ch <- prometheus.MustNewConstMetric(descLatency, prometheus.GaugeValue, c.latency, src, c.dst, c.addr, c.family)
		ch <- prometheus.MustNewConstMetric(descSince, prometheus.GaugeValue, float64(c.since.UnixMilli())/1000, src, c.dst, c.addr, c.family)
		if !c.lastOK.IsZero() {
			ch <- prometheus.MustNewConstMetric(descLastOK, prometheus.GaugeValue, float64(c.lastOK.UnixMilli())/1000, src, c.dst, c.addr, c.family)
		}
	}
	disc := 0.0
	if discoveryOK {
		disc = 1
	}
	ch <- prometheus.MustNewConstMetric(descPeers, prometheus.GaugeValue, float64(peers), src)
	ch <- prometheus.MustNewConstMetric(descDiscovery, prometheus.GaugeValue, disc, src)
	ch <- prometheus.MustNewConstMetric(descRounds, prometheus.CounterValue, float64(rounds), src)
	ch <- prometheus.MustNewConstMetric(descRoundTime, prometheus.GaugeValue, roundTook.Seconds(), src)
	m.latency.Collect(ch)
	m.probes.Collect(ch)
}
