package mesh

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smile-sockets/smile/client"
	"github.com/smile-sockets/smile/internal/netaddr"
)

// Defaults of Options, and of the smile-server flags that set them.
const (
	DefaultInterval = 10 * time.Second
	DefaultMaxPeers = 100
	DefaultTimeout  = 2 * time.Second
	DefaultGrace    = time.Minute

	// MinInterval is the shortest -mesh-interval: a round every 100ms is
	// ten rounds a second of every peer, already more than any alert
	// needs; shorter ones only burn a core.
	MinInterval = 100 * time.Millisecond
	// MinTimeout is the shortest -mesh-timeout: below 10ms even a LAN
	// path's greeting is reported as a timeout.
	MinTimeout = 10 * time.Millisecond
)

// concurrency bounds the probes of a round in flight at once: enough for
// a round of a thousand loopback peers to take milliseconds, few enough
// that a round costs a bounded number of descriptors.
const concurrency = 128

// Options say what a Mesh probes and how often.
type Options struct {
	Spec     string             // -mesh as given, for the row
	Entries  []netaddr.HostPort // -mesh parsed (ParseSpec)
	Interval time.Duration      // -mesh-interval: between rounds, jittered
	MaxPeers int                // -mesh-peers: peer addresses probed per round
	Timeout  time.Duration      // -mesh-timeout: bound on one probe
	Grace    time.Duration      // -mesh-grace: how long a peer unlisted by DNS is kept
	Node     string             // -mesh-node: this node's name
	Resolver *net.Resolver      // resolves -mesh names
	Skip     []netip.AddrPort   // this server's own addresses: never probed
	Announce []netip.AddrPort   // this server's addresses as its row announces them
	Expect   *string            // the greeting a peer must send; nil: any
	HTTPPort int                // -http's port: where peers serve /mesh.json; 0: no matrix
	Metrics  string             // -mesh-metrics: which per-destination series /metrics has; "": DefaultMetrics
	NoUDP    bool               // -mesh-udp=false: TCP greetings alone, no probe datagrams (udp.go)
}

// Mesh probes the peers of one node, round after round, and keeps the
// last outcome of every destination address.
type Mesh struct {
	o       Options
	log     *slog.Logger
	greeter *client.Greeter
	offset  uint64
	listed  *peerSet // what discovery listed within the grace; the round loop's alone
	peerIPs atomic.Pointer[peerIPs]

	latency *prometheus.HistogramVec
	probes  *prometheus.CounterVec

	mu           sync.Mutex
	peers        []netip.AddrPort
	cells        map[netip.AddrPort]*cell
	owners       map[netip.AddrPort]string // address → node whose row was fetched from it
	claims       map[netip.AddrPort]string // address → node whose row, fetched elsewhere, announces it
	round        uint64
	roundTook    time.Duration
	roundAt      time.Time // when the last round ended
	discoveryErr string

	matrix      matrixCache
	gathered    gatherMemory  // the gathering's alone
	toLearn     chan learnJob // the rounds' probed addresses, for learnLoop
	maxRowBytes int           // a peer's row larger than this is refused; 0: defaultMaxRow
	budgetBytes int64         // the rows a gathering holds; 0: matrixBudget()
}

// New returns a Mesh; Run runs its rounds.
func New(o Options, log *slog.Logger) (*Mesh, error) {
	switch {
	case o.Interval < MinInterval:
		return nil, fmt.Errorf("bad -mesh-interval %v: at least %v", o.Interval, MinInterval)
	case o.Timeout < MinTimeout || o.Timeout > o.Interval/2:
		return nil, fmt.Errorf("bad -mesh-timeout %v: at least %v and at most half of -mesh-interval %v", o.Timeout, MinTimeout, o.Interval)
	case o.MaxPeers < 1:
		return nil, fmt.Errorf("bad -mesh-peers %d: must be at least 1", o.MaxPeers)
	case o.Grace <= 0:
		return nil, fmt.Errorf("bad -mesh-grace %v: must be positive", o.Grace)
	case o.Metrics == "":
		o.Metrics = DefaultMetrics
	case !slices.Contains(MetricsChoices, o.Metrics):
		return nil, BadMetricsError(o.Metrics)
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	m := &Mesh{
		o:   o,
		log: log,
		greeter: client.NewGreeter(client.GreeterOptions{Timeout: o.Timeout, ReadTimeout: o.Timeout,
			MaxBytes: 64 << 10, Expect: o.Expect}),
		offset:  nodeOffset(o.Node),
		listed:  newPeerSet(o.Grace, o.Skip),
		cells:   map[netip.AddrPort]*cell{},
		owners:  map[netip.AddrPort]string{},
		claims:  map[netip.AddrPort]string{},
		toLearn: make(chan learnJob, 1),
	}
	m.latency, m.probes = newProbeMetrics(o.Node)
	return m, nil
}

// Node is this node's name.
func (m *Mesh) Node() string { return m.o.Node }
