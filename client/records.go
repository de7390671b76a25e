package client

import (
	"net/netip"

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
	Outcome    string  `json:"outcome"`     // connected, abandoned, not tried, or the failure's class
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
