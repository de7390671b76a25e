package client

import (
	"net/netip"

	"github.com/smile-sockets/smile/dgram"
	"github.com/smile-sockets/smile/internal/latency"
)

// SchemaVersion is the "schema_version" of every JSON object smile writes.
// It changes only when a field is removed, renamed or changes meaning; a new
// field or a new type keeps it. docs/json.md documents each field and
// docs/smile.schema.json is the JSON Schema that the tests validate real
// output against.
const SchemaVersion = 1

// The "type" of each JSON object, so one reader can tell every line apart.
// A new kind of object (a new mode's) gets a type of its own here, its Go
// type beside the others in this file, and a $defs entry in
// docs/smile.schema.json.
const (
	TypeProbe       = "probe"        // one probe of -json
	TypeSummary     = "summary"      // the last line of -json: every probe's tally
	TypeEach        = "each"         // one address (or the name) of -each -json
	TypeEachSummary = "each_summary" // the last line of -each -json
	TypeDatagrams   = "datagrams"    // -udp -json: one target's greeting, series or path MTU search
)

// Families as the JSON objects spell them.
const (
	FamilyIPv4 = "ipv4"
	FamilyIPv6 = "ipv6"
)

// Family is the JSON spelling of a's address family.
func Family(a netip.Addr) string {
	if a.Unmap().Is4() {
		return FamilyIPv4
	}
	return FamilyIPv6
}

// Header opens every JSON object smile writes: which schema it follows and
// what it is.
type Header struct {
	SchemaVersion int    `json:"schema_version"`
	Type          string `json:"type"`
}

// NewHeader is the header of an object of type typ.
func NewHeader(typ string) Header { return Header{SchemaVersion: SchemaVersion, Type: typ} }

// Probe is one probe: -json writes one per probe. Class, Stage and Error
// are set when OK is false and only then.
type Probe struct {
	Header
	Target    string    `json:"target"`            // as asked: host:port
	Address   string    `json:"address,omitempty"` // the address connected to, or the one that failed
	Family    string    `json:"family,omitempty"`  // FamilyIPv4 or FamilyIPv6, when an address was dialled
	OK        bool      `json:"ok"`
	Class     string    `json:"class,omitempty"` // the failure's class, e.g. refused
	Stage     string    `json:"stage,omitempty"` // where it failed: resolve, connect, read, expect
	Error     string    `json:"error,omitempty"` // the one-line message smile-client prints
	ConnectMS float64   `json:"connect_ms"`      // resolving and connecting, or until the connect failed
	TotalMS   float64   `json:"total_ms"`        // the whole probe
	Bytes     int       `json:"bytes"`           // what the server sent, up to -max-bytes
	Greeting  *string   `json:"greeting,omitempty"`
	Attempts  []Attempt `json:"attempts,omitempty"` // when a name had several addresses
}

// Attempt is one address a probe of a name dialled.
type Attempt struct {
	Address    string  `json:"address"`
	Family     string  `json:"family"`
	StartMS    float64 `json:"start_ms"`    // since the probe started
	DurationMS float64 `json:"duration_ms"` // how long the attempt took
	Outcome    string  `json:"outcome"`     // connected (answered, over UDP), abandoned, not tried, or the failure's class
}

// Summary closes -json: the tally of every probe of the target. The
// latency fields (p50_ms … max_ms) are of the successful probes' total
// times and absent when none succeeded.
type Summary struct {
	Header
	Target string `json:"target"`
	OK     bool   `json:"ok"` // every probe succeeded
	latency.Stats
	Classes map[string]int `json:"classes,omitempty"` // failures by class
}

// EachRow is one target of -each: an address of the name, or the name
// itself dialled as a plain client would. Class, Stage, Error and
// Attempts describe the last failure and are set only when OK is false;
// ConnectMS and TotalMS are medians of the successful probes, absent when
// none succeeded.
type EachRow struct {
	Header
	Target       string    `json:"target"`
	Via          string    `json:"via"` // "address" or "name"
	Address      string    `json:"address,omitempty"`
	Family       string    `json:"family,omitempty"`
	OK           bool      `json:"ok"` // every probe of this target succeeded
	Class        string    `json:"class,omitempty"`
	Stage        string    `json:"stage,omitempty"`
	Error        string    `json:"error,omitempty"`
	Probes       int       `json:"probes"`
	OKProbes     int       `json:"ok_probes"`
	FailedProbes int       `json:"failed_probes"`
	ConnectMS    float64   `json:"connect_ms,omitempty"`
	TotalMS      float64   `json:"total_ms,omitempty"`
	Attempts     []Attempt `json:"attempts,omitempty"`
	Protocol     string    `json:"protocol,omitempty"` // "udp" for -udp rows, whose ok, probes and times are the datagrams object's
	PathQuality
}

// EachSummary closes -each -json.
type EachSummary struct {
	Header
	Target        string `json:"target"`
	OK            bool   `json:"ok"` // every target succeeded
	Targets       int    `json:"targets"`
	OKTargets     int    `json:"ok_targets"`
	FailedTargets int    `json:"failed_targets"`
}

// Datagrams is one target of -udp -json: a greeting over a datagram, a
// series of probes (-count) or a path MTU search (-pmtu). OK is what the
// exit code says: the greeting came (and matched -expect), some of the
// series was answered, or the search ended without a black hole.
type Datagrams struct {
	Header
	Target   string  `json:"target"`
	Address  string  `json:"address,omitempty"`
	Family   string  `json:"family,omitempty"`
	OK       bool    `json:"ok"`
	Class    string  `json:"class,omitempty"`
	Stage    string  `json:"stage,omitempty"`
	Error    string  `json:"error,omitempty"`
	TotalMS  float64 `json:"total_ms"`           // the whole run
	Bytes    int     `json:"bytes,omitempty"`    // the greeting's
	Greeting *string `json:"greeting,omitempty"` // when a greeting came
	RTTMS    float64 `json:"rtt_ms,omitempty"`   // the greeting's round trip
	// Attempts are a greeting's addresses when the name had several, in
	// the order tried, as a probe's: a series or a search has one address.
	Attempts []Attempt `json:"attempts,omitempty"`
	PathQuality
}

// PathQuality is what datagrams measured of a path; each part is present
// only when it was measured: Hops when an answer's TTL (hop limit) was
// read, Loss for a series, MTU for a path MTU search.
type PathQuality struct {
	Hops *int `json:"hops,omitempty"` // routers crossed (dgram.Hops)
	*Loss
	*MTU
}

// Loss is a series of probes (-udp -count): the loss ratio, duplicates,
// reordering, and the round trips of the answered probes.
type Loss struct {
	Sent       int     `json:"sent"`
	Received   int     `json:"received"`   // distinct probes answered
	LossRatio  float64 `json:"loss_ratio"` // (sent - received) / sent
	Duplicates int     `json:"duplicates"`
	Reordered  int     `json:"reordered"`
	RTTP50MS   float64 `json:"rtt_p50_ms,omitempty"`
	RTTP90MS   float64 `json:"rtt_p90_ms,omitempty"`
	RTTP99MS   float64 `json:"rtt_p99_ms,omitempty"`
	RTTMaxMS   float64 `json:"rtt_max_ms,omitempty"`
}

// MTU is a path MTU search (-pmtu): sizes are whole IP packets.
type MTU struct {
	PathMTU        int    `json:"path_mtu"`                   // the largest size that crossed
	InterfaceMTU   int    `json:"interface_mtu"`              // where the search started
	PMTUReportedBy string `json:"pmtu_reported_by,omitempty"` // the hop whose "too big" was read
	PMTUReported   int    `json:"pmtu_reported,omitempty"`    // the MTU it gave
	BlackHole      bool   `json:"black_hole"`                 // a larger size was lost with no ICMP
}

// NewPathQuality is the JSON of what dgram measured: s and m may be nil,
// ttl is -1 when unknown.
func NewPathQuality(s *dgram.Series, m *dgram.PMTU, ttl int) PathQuality {
	var q PathQuality
	if s != nil && s.Received > 0 {
		ttl = s.TTL
	}
	if h := dgram.Hops(ttl); h >= 0 {
		q.Hops = &h
	}
	if s != nil {
		q.Loss = &Loss{Sent: s.Sent, Received: s.Received, LossRatio: s.Loss(), Duplicates: s.Duplicates, Reordered: s.Reordered}
		if len(s.RTTs) > 0 {
			q.RTTP50MS, q.RTTP90MS, q.RTTP99MS, q.RTTMaxMS = latency.MS(s.RTT(50)), latency.MS(s.RTT(90)),
				latency.MS(s.RTT(99)), latency.MS(s.RTTs[len(s.RTTs)-1])
		}
	}
	if m != nil {
		q.MTU = &MTU{PathMTU: m.PathMTU, InterfaceMTU: m.InterfaceMTU, BlackHole: m.BlackHole, PMTUReported: m.ReportedMTU}
		if m.ReportedBy.IsValid() {
			q.PMTUReportedBy = m.ReportedBy.String()
		}
	}
	return q
}
