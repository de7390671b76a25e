package server

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/smile-sockets/smile/internal/version"
)

// statsCollector exposes a Server's counters to Prometheus. It reads them
// at scrape time, so a greeting pays its one atomic add and nothing for
// the metrics.
type statsCollector struct {
	srv  *Server
	lost func() uint64 // log lines dropped
}

var (
	descGreetings = prometheus.NewDesc("smile_greetings_total",
		"Greetings written in full and closed.", nil, nil)
	descFailed = prometheus.NewDesc("smile_greetings_failed_total",
		"Greetings that failed, by class (the one label name of every outcome on /metrics): timeout (the peer did not read within -write-timeout), reset (the peer reset or closed), error (anything else).",
		[]string{"class"}, nil)
	descInService = prometheus.NewDesc("smile_connections_in_service",
		"Connections holding one of the -max-conns slots now.", nil, nil)
	descLingering = prometheus.NewDesc("smile_lingering_sockets",
		"Greeted sockets waiting for the peer's FIN before they close.", nil, nil)
	descDatagrams = prometheus.NewDesc("smile_datagrams_total",
		"Datagrams by what became of them: greeting (answered with the greeting), probe (answered with its header; counted, not logged), clamped (a probe that asked for more than it carried), short (a greeting request shorter than the greeting: not answered), malformed (not answered), failed (the answer was not sent).",
		[]string{"kind"}, nil)
	descLogDropped = prometheus.NewDesc("smile_log_lines_dropped_total",
		"Log lines dropped because stdout did not take them.", nil, nil)
	descProbesReceived = prometheus.NewDesc("smile_mesh_probes_received_total",
		"Greetings of mesh peers' probes: counted here, not logged one by one.", []string{"source"}, nil)
)

// Describe is part of prometheus.Collector.
func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descGreetings, descFailed, descInService, descLingering, descLogDropped, descProbesReceived} {
		ch <- d
	}
}

// Collect is part of prometheus.Collector.
func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Stats()
	ch <- prometheus.MustNewConstMetric(descGreetings, prometheus.CounterValue, float64(st.Greetings))
	for _, cause := range Causes {
		ch <- prometheus.MustNewConstMetric(descFailed, prometheus.CounterValue, float64(st.Failed[cause]), cause)
	}
	ch <- prometheus.MustNewConstMetric(descInService, prometheus.GaugeValue, float64(st.InService))
	ch <- prometheus.MustNewConstMetric(descLingering, prometheus.GaugeValue, float64(st.Lingering))
	d := st.Datagrams
	for kind, n := range map[string]uint64{"greeting": d.Greetings, "probe": d.Probes, "clamped": d.Clamped,
		"short": d.Short, "malformed": d.Malformed, "failed": d.Failed} {
		ch <- prometheus.MustNewConstMetric(descDatagrams, prometheus.CounterValue, float64(n), kind)
	}
	if c.lost != nil {
		ch <- prometheus.MustNewConstMetric(descLogDropped, prometheus.CounterValue, float64(c.lost()))
	}
	if c.srv.isMeshPeer != nil {
		ch <- prometheus.MustNewConstMetric(descProbesReceived, prometheus.CounterValue, float64(c.srv.counters.meshProbes.n.Load()), c.srv.meshNode)
	}
}

// buildInfo is smile_build_info: 1, with the build's identity as labels
// (what -version prints), so that a dashboard can say which commit each
// node runs and a query can join on it, as Prometheus's own
// prometheus_build_info does.
func buildInfo() prometheus.Collector {
	v, rev := version.Info()
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "smile_build_info",
		Help:        "1, labelled with the version, the VCS revision and the Go version smile-server was built from.",
		ConstLabels: prometheus.Labels{"version": v, "revision": rev, "goversion": runtime.Version()},
	}, func() float64 { return 1 })
}

// NewRegistry is the registry /metrics serves for srv: its counters, the
// build's identity, the Go runtime's and the process's, and any extra collectors (the mesh's).
func NewRegistry(srv *Server, logLost func() uint64, extra ...prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(statsCollector{srv: srv, lost: logLost}, buildInfo())
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, c := range extra {
		reg.MustRegister(c)
	}
	return reg
}
