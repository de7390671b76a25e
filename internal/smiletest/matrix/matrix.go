// Package matrix holds the expected outcome of every cell of the matrices
// of docs/matrices.md, docs/path-faults.md, docs/router.md and
// docs/datagrams.md as data. The integration suite runs each cell in
// containers and asserts it; a unit test, which needs no Docker, keeps
// those pages' tables equal to this data, so the documentation cannot
// drift from what is proven.
package matrix

// Outcome is the expected result of one client probe.
type Outcome string

// The outcomes of the addressing table.
const (
	OK      Outcome = "ok"      // exit 0, the greeting on stdout
	Refused Outcome = "refused" // exit 1, the refused class on stderr, quickly
)

// Column is one way the client names the server: a column of the
// addressing table.
type Column struct {
	Name string // as the docs' header cell, without backticks
	// Family is the address family the connection must use, or "" when the
	// resolver may choose (a hostname without -4/-6).
	Family string
}

// AddressingColumns are the columns of the addressing table of docs/matrices.md, in
// order.
var AddressingColumns = []Column{
	{"dotted IPv4", "4"},
	{"hostname", ""},
	{"hostname -4", "4"},
	{"hostname -6", "6"},
	{"IPv6 literal", "6"},
}

// AddressingRow is one row of the addressing table of docs/matrices.md: how the
// server listens, and the outcome for each column.
type AddressingRow struct {
	Name string // as the docs' first cell, without backticks
	// Args are the server's arguments; {v4} and {v6} stand for its own
	// addresses on the test network.
	Args    []string
	Started int // "SERVER started" lines: one per listener
	// Outcomes hold over TCP and over UDP alike (smile-client -udp, the
	// table of docs/datagrams.md): a datagram greeting tries a name's
	// addresses as the TCP dialer does, the next after an ICMP refusal.
	Outcomes [5]Outcome
}

// Protocol is one transport the addressing cells run over: its client
// flags, the page whose table holds its outcomes, and the server's log
// line for a greeted peer.
type Protocol struct {
	Name    string   // tcp or udp
	Flags   []string // the client's flags that select it
	Page    string   // the page of its table, from the repository's root
	LogLine string   // how the server's line for a greeting begins
}

// AddressingProtocols are the protocols of the addressing matrix, each
// with its table.
var AddressingProtocols = []Protocol{
	{"tcp", nil, "docs/matrices.md", "Connection received from "},
	{"udp", []string{"-udp"}, "docs/datagrams.md", "Datagram received from "},
}

// Addressing is the addressing table of docs/matrices.md: server bind × how the
// client names it; over UDP, that of docs/datagrams.md, the same.
var Addressing = []AddressingRow{
	{":7890 (default, dual-stack)", nil, 1, [5]Outcome{OK, OK, OK, OK, OK}},
	{"0.0.0.0:7890", []string{"-listen", "0.0.0.0:7890"}, 1, [5]Outcome{OK, OK, OK, Refused, Refused}},
	{"[::]:7890 with -v6only", []string{"-listen", "[::]:7890", "-v6only"}, 1, [5]Outcome{Refused, OK, Refused, OK, OK}},
	{"0.0.0.0:7890 + [::]:7890 -v6only (two listeners)", []string{"-listen", "0.0.0.0:7890", "-listen", "[::]:7890", "-v6only"}, 2,
		[5]Outcome{OK, OK, OK, OK, OK}},
	{"its own IPv4 address", []string{"-listen", "{v4}:7890"}, 1, [5]Outcome{OK, OK, OK, Refused, Refused}},
	{"its own IPv6 address", []string{"-listen", "[{v6}]:7890"}, 1, [5]Outcome{Refused, OK, Refused, OK, OK}},
	{"localhost:7890", []string{"-listen", "localhost:7890"}, 1, [5]Outcome{Refused, Refused, Refused, Refused, Refused}},
}

// RestartRow is one row of the restart table of docs/matrices.md: a server replaced
// by another on the same port in the same network namespace.
type RestartRow struct {
	Name     string
	OldReuse bool // the old server's -reuseaddr
	NewReuse bool // the new server's -reuseaddr
	Served   bool // a client was greeted before the old server stopped
	Keep     bool // the old server keeps running while the new one starts
	Starts   bool // the new server starts (else exits 1: address in use)
	// NewNamespace: the old server's container was restarted, so the new
	// server binds in a fresh namespace with no TIME_WAIT (the control row).
	NewNamespace bool
}

// Restart is the restart table of docs/matrices.md, the control row last.
var Restart = []RestartRow{
	{Name: "on then on", OldReuse: true, NewReuse: true, Served: true, Starts: true},
	{Name: "off then off", Served: true},
	{Name: "off then on", NewReuse: true, Served: true},
	{Name: "on then off", OldReuse: true, Served: true},
	{Name: "off then off, not served", Starts: true},
	{Name: "still running, then on", OldReuse: true, NewReuse: true, Served: true, Keep: true},
	{Name: "off then off, container restarted", Served: true, Starts: true, NewNamespace: true},
}
