package mesh

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/smile-sockets/smile/dgram"
	"github.com/smile-sockets/smile/internal/latency"
)

// Row is this node's row of the matrix, as /mesh.json serves it: what the
// node is, and a cell per destination address with its family.
type Row struct {
	RowHead
	Destinations []Cell   `json:"destinations"`
	grid         *rowGrid // a row read from a peer for the matrix: its cells as kept (compact.go)
}

// RowHead is what a row says of its node, in either form (Row, CompactRow).
type RowHead struct {
	SchemaVersion int       `json:"schema_version"` // 1
	Type          string    `json:"type"`           // "mesh_node"
	Node          string    `json:"node"`
	Addresses     []string  `json:"addresses"` // where this node greets: peers attribute them to it
	Mesh          string    `json:"mesh"`      // -mesh as given
	IntervalMS    float64   `json:"interval_ms"`
	TimeoutMS     float64   `json:"timeout_ms"`
	MaxPeers      int       `json:"max_peers"`
	Round         uint64    `json:"round"` // rounds completed
	RoundMS       float64   `json:"round_ms"`
	RoundUnixMS   float64   `json:"round_unix_ms,omitempty"` // when the last round ended: a frozen node shows its age
	Peers         int       `json:"peers"`                   // peer addresses in the current set
	Discovery     Discovery `json:"discovery"`
	TimeUnixMS    float64   `json:"time_unix_ms"` // when the row was served
}

// Discovery says whether the last lookup of -mesh worked, and why not.
type Discovery struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Cell is the last probe of one destination address: ok, or smile-client's
// class and one-line message, since when it has been ok or failing, and
// when it last succeeded. Destinations not probed yet (a new peer awaiting its turn)
// have no cell.
type Cell struct {
	Host         string  `json:"host"`    // the node announcing the address, else the address
	Address      string  `json:"address"` // IP:PORT greeted
	Family       string  `json:"family"`  // ipv4 or ipv6
	OK           bool    `json:"ok"`
	Class        string  `json:"class,omitempty"`
	Error        string  `json:"error,omitempty"`
	LatencyMS    float64 `json:"latency_ms"`                // the last probe, connect to greeting read
	SinceUnixMS  float64 `json:"since_unix_ms"`             // when it last went from ok to failing or back
	LastOKUnixMS float64 `json:"last_ok_unix_ms,omitempty"` // absent: never succeeded
	Round        uint64  `json:"round"`                     // the round of the last probe

	// What the round's probe datagrams found (udp.go), absent with
	// -mesh-udp=false. Datagram loss is no TCP class: a cell whose
	// datagrams are all lost can be ok.
	LossRatio *float64 `json:"loss_ratio,omitempty"` // of the last round's datagrams, 0 to 1
	UDPRTTMS  *float64 `json:"udp_rtt_ms,omitempty"` // their median round trip; absent when none was answered
	Hops      *int     `json:"hops,omitempty"`       // routers crossed, from an answer's TTL; absent when unknown
	// The last path MTU search's, absent until one was made; a search
	// runs every tenth probe of a destination, at once when its TCP
	// greeting failed after connecting, and when its datagrams are
	// answered again after a search that failed while none were.
	PathMTU        int    `json:"path_mtu,omitempty"`         // the largest whole IP packet that crossed
	InterfaceMTU   int    `json:"interface_mtu,omitempty"`    // the MTU of this node's interface towards it
	PMTUReportedBy string `json:"pmtu_reported_by,omitempty"` // the hop whose "fragmentation needed" / "packet too big" was read
	BlackHole      bool   `json:"black_hole,omitempty"`       // a size the interface could send was lost with no ICMP
	PMTUError      string `json:"pmtu_error,omitempty"`       // why the last search found no path MTU
	PMTURound      uint64 `json:"pmtu_round,omitempty"`       // the round of the last search
}

// cell is a destination's state between probes.
type cell struct {
	addr    netip.AddrPort
	family  string
	class   string // "" for ok
	err     string
	latency time.Duration
	since   time.Time
	lastOK  time.Time
	round   uint64
	changed uint64 // the round in which the class last changed (ok is one); 0: never since the first outcome
	// noRowRound is the round in which the address last failed to serve
	// a row announcing it; 0 when it has not.
	noRowRound uint64

	// The datagrams' (udp.go); udpSent 0: none sent yet.
	udpProbes            uint64 // rounds whose datagrams were sent
	udpSent, udpReceived int
	udpRTT               time.Duration
	udpTTL               int
	pmtu                 dgram.PMTU
	pmtuErr              string
	pmtuRound            uint64 // 0: never searched
	pmtuFailedSilent     bool   // the last search failed in a round whose datagrams all went unanswered
}

// record stores a probe's outcome. since moves only when the cell goes
// from ok to failing or back: a failure that changes class (timeout, then
// refused while a node drains) is still failing since its first probe, so
// that "failing for five minutes" counts from there.
func (c *cell) record(now time.Time, round uint64, class, msg string, took time.Duration, family string) {
	if c.since.IsZero() || (class == "") != (c.class == "") {
		c.since = now
	}
	if c.round > 0 && class != c.class {
		c.changed = round
	}
	c.class, c.err, c.latency, c.round, c.family = class, msg, took, round, family
	if class == "" {
		c.lastOK = now
	}
}

func (c *cell) json(host string) Cell {
	j := Cell{Host: host, Address: c.addr.String(), Family: c.family, OK: c.class == "", Class: c.class, Error: c.err,
		LatencyMS: latency.MS(c.latency), SinceUnixMS: unixMS(c.since), Round: c.round}
	if !c.lastOK.IsZero() {
		j.LastOKUnixMS = unixMS(c.lastOK)
	}
	c.datagramsJSON(&j)
	return j
}

// datagramsJSON fills in what the datagrams found, each field only when
// it was measured.
func (c *cell) datagramsJSON(j *Cell) {
	if c.udpSent > 0 {
		loss := c.lossRatio()
		j.LossRatio = &loss
		if c.udpReceived > 0 {
			rtt := latency.MS(c.udpRTT)
			j.UDPRTTMS = &rtt
		}
		if h := dgram.Hops(c.udpTTL); h >= 0 && c.udpReceived > 0 {
			j.Hops = &h
		}
	}
	if c.pmtuRound == 0 {
		return
	}
	j.PMTURound, j.PMTUError = c.pmtuRound, c.pmtuErr
	if c.pmtuErr == "" {
		j.PathMTU, j.InterfaceMTU, j.BlackHole = c.pmtu.PathMTU, c.pmtu.InterfaceMTU, c.pmtu.BlackHole
		if c.pmtu.ReportedBy.IsValid() {
			j.PMTUReportedBy = c.pmtu.ReportedBy.String()
		}
	}
}

func unixMS(t time.Time) float64 { return float64(t.UnixMicro()) / 1000 }

// unixMSOrZero is unixMS, and 0 (omitted) for the zero time.
func unixMSOrZero(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return unixMS(t)
}

// familyOf is the family an address is greeted over.
func familyOf(a netip.AddrPort) string {
	if a.Addr().Is4() {
		return "ipv4"
	}
	return "ipv6"
}

// Row is this node's row now.
func (m *Mesh) Row() Row { return m.row(true) }

// row is this node's row, with its cells or (for a peer that only wants
// to know whose addresses these are) without.
func (m *Mesh) row(cells bool) Row {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := Row{RowHead: m.rowHead(), Destinations: []Cell{}}
	if !cells {
		return r
	}
	es := m.probedCells()
	r.Destinations = make([]Cell, len(es))
	for i, e := range es {
		r.Destinations[i] = e.c.json(e.host)
	}
	return r
}

// rowHead is what this node's row says of it; m.mu is held.
func (m *Mesh) rowHead() RowHead {
	h := RowHead{SchemaVersion: 1, Type: "mesh_node", Node: m.o.Node, Mesh: m.o.Spec,
		IntervalMS: latency.MS(m.o.Interval), TimeoutMS: latency.MS(m.o.Timeout), MaxPeers: m.o.MaxPeers,
		Round: m.round, RoundMS: latency.MS(m.roundTook), Peers: len(m.peers),
		RoundUnixMS: unixMSOrZero(m.roundAt),
		Discovery:   Discovery{OK: m.discoveryErr == "", Error: m.discoveryErr}, TimeUnixMS: unixMS(time.Now()),
		Addresses: make([]string, 0, len(m.o.Announce))}
	for _, a := range m.o.Announce {
		h.Addresses = append(h.Addresses, a.String())
	}
	return h
}

// probedCell is a probed destination with the host it belongs to.
type probedCell struct {
	host string
	c    *cell
}

// probedCells are the destinations probed at least once, sorted by host,
// then address (IPv4 first), through a slice of small entries: sorting
// the cells themselves moved 150 bytes a swap. m.mu is held.
func (m *Mesh) probedCells() []probedCell {
	es := make([]probedCell, 0, len(m.cells))
	for _, c := range m.cells {
		if c.round > 0 {
			es = append(es, probedCell{m.hostOf(c.addr), c})
		}
	}
	slices.SortFunc(es, func(a, b probedCell) int {
		if c := strings.Compare(a.host, b.host); c != 0 {
			return c
		}
		return a.c.addr.Compare(b.c.addr)
	})
	return es
}

// hostOf is the host an address belongs to: the node whose row was last
// fetched from it, else the node whose row announces it (a host serving
// -http over one family only), else the address itself. m.mu is held.
func (m *Mesh) hostOf(a netip.AddrPort) string {
	if name, ok := m.owners[a]; ok {
		return name
	}
	if name, ok := m.claims[a]; ok {
		return name
	}
	return a.String()
}
