package integration

import (
	"fmt"
	"strings"
	"time"
)

// span is how long a probe may take, in wide bounds: the containers share
// a busy machine, so only the order of magnitude is asserted.
type span int

const (
	atOnce       span = iota // a reject or a greeting: well under a second
	afterTimeout             // nothing answered: the client's -timeout
	afterRead                // connected, nothing read: the client's -read-timeout
	afterNeigh               // ARP/ND gave up: about 3 s, inside -timeout
)

// bounds returns the shortest and longest time a probe of this span may
// take with the given -timeout (which is also the -read-timeout).
func (s span) bounds(timeout time.Duration) (lo, hi time.Duration) {
	const slack = 1500 * time.Millisecond
	switch s {
	case afterTimeout, afterRead:
		return timeout - 100*time.Millisecond, timeout + slack
	case afterNeigh:
		return 2 * time.Second, timeout + slack
	}
	// Docker's start and finish stamps of a quick process can even be a
	// few milliseconds out of order: no lower bound.
	return -time.Hour, slack
}

func (s span) words() string {
	return [...]string{"at once", "after `-timeout`", "after `-read-timeout`", "after ARP/ND gives up (≈3 s)"}[s]
}

// pathWant is what dialling one address of the server gives: a greeting,
// a failure to connect, or a connection that never brings a greeting.
type pathWant struct {
	class     string // "" when greeted
	detail    string // the words after the class, if the client adds any
	connected bool   // the handshake completed: "connected, but no greeting"
	took      span
}

var greeted = pathWant{took: atOnce}

func (w pathWant) ok() bool { return w.class == "" }

// failedToConnect reports whether the client never had a connection, so a
// name falls back to its next address.
func (w pathWant) failedToConnect() bool { return !w.ok() && !w.connected }

func (w pathWant) classText() string {
	if w.detail != "" {
		return w.class + ": " + w.detail
	}
	return w.class
}

// faultSetup puts a row's fault in place; env says where.
type faultSetup func(env *faultEnv)

// faultRow is one row of the path-fault matrix (the README's "Path
// faults" table) and of its "What a failure means" table.
type faultRow struct {
	fault    string
	server   []string   // the server's arguments
	setup    faultSetup // nil: no fault
	inClient bool       // the fault is in the clients' namespace, not the server's
	hosts    bool       // the name comes from the clients' /etc/hosts, not Docker's DNS
	timeout  time.Duration
	v4, v6   pathWant // each address dialled alone
	shows    int      // the column whose output the README quotes
	means    string   // what it means on a real network
	next     string   // what to check next
}

// The columns of the path-fault table.
const (
	colIPv4 = iota
	colIPv6
	colName
	colEach
)

var faultColumns = []string{"dotted IPv4", "IPv6 literal", "hostname", "`-each` hostname"}

// defaultTimeout is the client's -timeout and -read-timeout in the matrix:
// short, so a drop costs little suite time, and far above any RTT here.
const defaultTimeout = 2 * time.Second

// bigGreeting is larger than the 1280 bytes the black hole lets through.
var bigGreeting = strings.Repeat("Smile from the server, in a big packet. ", 60)[:2000]

var faultRows = []faultRow{
	{fault: "none", v4: greeted, v6: greeted, shows: colIPv4,
		means: "TCP works over both families, and the server answers.",
		next:  "Nothing."},
	{fault: "IPv4 SYNs dropped", setup: inServer("drop-syn", "-family", "ipv4"),
		v4: pathWant{class: "timeout", took: afterTimeout}, v6: greeted, shows: colIPv4,
		means: "Nothing answered the SYN: a firewall or security group drops IPv4 to the port, or the host is off the path (a wrong route, a black-holed subnet). A hostname still works over IPv6 after the 300 ms fallback, which hides the fault; `-each` shows it.",
		next:  "Firewall DROP rules and cloud security groups for IPv4 to the port; `-each` on the name; a capture on the server shows whether the SYN arrives."},
	{fault: "IPv6 SYNs dropped", setup: inServer("drop-syn", "-family", "ipv6"),
		v4: greeted, v6: pathWant{class: "timeout", took: afterTimeout}, shows: colIPv6,
		means: "The same drop for IPv6 only: ip6tables/nftables rules that differ from the IPv4 ones, or a security group without IPv6 rules.",
		next:  "The IPv6 firewall rules (they are a separate table), the IPv6 route to the server, `-each` on the name."},
	{fault: "both dropped", setup: inServer("drop-syn"),
		v4: pathWant{class: "timeout", took: afterTimeout}, v6: pathWant{class: "timeout", took: afterTimeout}, shows: colName,
		means: "No SYN got an answer over either family within one `-timeout`: a firewall drops the port, or the host is not on the path.",
		next:  "Firewall DROP rules for the port on the server and on the way; whether the server's host is up at all."},
	{fault: "reject with TCP reset", setup: inServer("reject-syn", "-with", "tcp-reset"),
		v4: pathWant{class: "refused", took: atOnce}, v6: pathWant{class: "refused", took: atOnce}, shows: colIPv4,
		means: "A reset came back: nothing listens on that address and port, or a firewall rejects with a TCP reset; both look the same on the wire.",
		next:  "Whether the server runs and listens on that address and family (`ss -ltn`, its start line), then REJECT rules with `tcp-reset`."},
	{fault: "reject with ICMP(v6) unreachable", setup: inServer("reject-syn", "-with", "icmp-unreachable"),
		v4: pathWant{class: "unreachable", detail: "no route to host", took: atOnce}, v6: pathWant{class: "unreachable", detail: "no route to host", took: atOnce}, shows: colIPv4,
		means: "A router or firewall answered the SYN with ICMP host unreachable (ICMPv6 address unreachable).",
		next:  "REJECT rules on the server and the routers on the way; `traceroute -T -p 7890` shows which hop answers."},
	{fault: "reject with ICMP(v6) admin-prohibited", setup: inServer("reject-syn", "-with", "icmp-admin-prohibited"),
		v4: pathWant{class: "unreachable", detail: "no route to host", took: atOnce}, v6: pathWant{class: "unreachable", detail: "prohibited by a firewall (permission denied)", took: atOnce}, shows: colIPv6,
		means: "A firewall rejected the SYN with ICMP communication administratively prohibited. Linux reports it for IPv4 like a host unreachable, for IPv6 as permission denied.",
		next:  "REJECT rules with `admin-prohibited` (firewalld's default), on the server and on the way."},
	{fault: "client has no route to the IPv6 subnet", setup: inClient("unroute"), inClient: true,
		v4: greeted, v6: pathWant{class: "unreachable", detail: "network is unreachable", took: atOnce}, shows: colIPv6,
		means: "The client's own host has no route for the address (no IPv6 default route, no address on the subnet): nothing was sent.",
		next:  "`ip -6 route` on the client's host; whether its network has IPv6 at all; `-4` if it must not."},
	{fault: "handshake ok, server's data dropped", setup: inServer("drop-sent"),
		v4: pathWant{class: "timeout", connected: true, took: afterRead}, v6: pathWant{class: "timeout", connected: true, took: afterRead}, shows: colIPv4,
		means: "The handshake completed, then nothing came: the server accepted but never wrote, or what it sent is lost on the way back (asymmetric routing, a stateful firewall that lost the flow).",
		next:  "The server's log (did it see the connection?), then the return path: routes and firewalls from the server back to the client."},
	{fault: "path MTU black hole, greeting > 1280 bytes", server: []string{"-greeting", bigGreeting}, setup: inServer("drop-larger", "-than", "1280"),
		v4: pathWant{class: "timeout", connected: true, took: afterRead}, v6: pathWant{class: "timeout", connected: true, took: afterRead}, shows: colIPv4,
		means: "Small packets pass, big ones vanish without an ICMP \"too big\": a tunnel or VPN with a smaller MTU behind a firewall that drops ICMP.",
		next:  "The path MTU (`ping -M do -s 1400`, `tracepath`), ICMP filtering on the way, MSS clamping on the tunnel."},
	{fault: "…same, default greeting", setup: inServer("drop-larger", "-than", "1280"),
		v4: greeted, v6: greeted, shows: colIPv4,
		means: "The default greeting fits in one small packet, so the same black hole goes unnoticed.",
		next:  "A greeting larger than the MTU (`-greeting`) to test the path with big packets."},
	{fault: "server frozen (`docker pause`)", setup: paused,
		v4: pathWant{class: "timeout", connected: true, took: afterRead}, v6: pathWant{class: "timeout", connected: true, took: afterRead}, shows: colIPv4,
		means: "The server's kernel completed the handshake from its listen queue, but the process never wrote: it is frozen, overloaded or stuck.",
		next:  "The server process: its log, CPU, `docker ps`/`kubectl get pod` state, the listen queue (`ss -ltn`)."},
	{fault: "server host down (stopped, address routed)", setup: stopped, hosts: true, timeout: 5 * time.Second,
		v4: pathWant{class: "unreachable", detail: "no route to host", took: afterNeigh}, v6: pathWant{class: "unreachable", detail: "no route to host", took: afterNeigh}, shows: colName,
		means: "Nobody on the server's own subnet answers ARP (IPv4) or neighbour discovery (IPv6) for the address: the host or container is down.",
		next:  "Whether the server's host is up and still has that address; the neighbour table (`ip neigh`) of the last router."},
}

// clientTimeout is the row's -timeout.
func (r faultRow) clientTimeout() time.Duration {
	if r.timeout > 0 {
		return r.timeout
	}
	return defaultTimeout
}

// name is what a client naming the server by its hostname gets: the IPv4
// address is dialled first (Go's resolver sorts IPv4 before a ULA IPv6
// address), IPv6 after the fallback delay or as soon as IPv4 fails, and
// the first connection wins.
func (r faultRow) name() (w pathWant, fellBack bool) {
	switch {
	case !r.v4.failedToConnect():
		return r.v4, false
	case !r.v6.failedToConnect():
		return r.v6, true
	}
	w = pathWant{class: r.v4.class, took: max(r.v4.took, r.v6.took)}
	return w, false
}

// faultAddrs are the addresses a table's messages are rendered with.
type faultAddrs struct{ v4, v6, name string }

// docAddrs are the README's: documentation addresses and a plain name.
var docAddrs = faultAddrs{v4: "192.0.2.10", v6: "2001:db8::10", name: "srv"}

func (a faultAddrs) target(col int) string {
	switch col {
	case colIPv4:
		return a.v4 + ":" + port
	case colIPv6:
		return "[" + a.v6 + "]:" + port
	}
	return a.name + ":" + port
}

// stderr is exactly what smile-client writes to stderr for the column (not
// -each): nothing when greeted.
func (r faultRow) stderr(col int, a faultAddrs) string {
	w := r.v4
	target, dialled := a.target(col), a.target(col)
	switch col {
	case colIPv6:
		w = r.v6
	case colName:
		var fellBack bool
		w, fellBack = r.name()
		dialled = a.target(colIPv4)
		if fellBack {
			dialled = a.target(colIPv6)
		}
		if w.failedToConnect() {
			return fmt.Sprintf("smile-client: can't connect to %s: %s %s, %s %s\n",
				target, a.target(colIPv4), r.v4.class, a.target(colIPv6), r.v6.class)
		}
	}
	where := target
	if dialled != target {
		where += " (" + dialled + ")"
	}
	switch {
	case w.ok():
		return ""
	case w.connected:
		return fmt.Sprintf("smile-client: connected to %s, but no greeting: %s\n", where, w.classText())
	}
	return fmt.Sprintf("smile-client: can't connect to %s: %s\n", where, w.classText())
}

// prints is what the README's "What a failure means" table quotes: the
// shown column's stderr, or the greeting.
func (r faultRow) prints() string {
	if s := r.stderr(r.shows, docAddrs); s != "" {
		return strings.TrimSuffix(s, "\n")
	}
	return "Smile from the server"
}

// cell is the row's entry in the README's path-fault table for a column.
func (r faultRow) cell(col int) string {
	one := func(w pathWant) string {
		switch {
		case w.ok():
			return "ok"
		case w.connected:
			return "connected, no greeting (`" + w.class + "` " + w.took.words() + ")"
		}
		return "`" + w.class + "` " + w.took.words()
	}
	switch col {
	case colIPv4:
		return one(r.v4)
	case colIPv6:
		return one(r.v6)
	case colName:
		w, fellBack := r.name()
		switch {
		case fellBack:
			return one(w) + " (IPv6 after the fallback)"
		case w.failedToConnect():
			return fmt.Sprintf("fails %s, naming IPv4 `%s`, IPv6 `%s`", w.took.words(), r.v4.class, r.v6.class)
		}
		return one(w)
	}
	if r.v4.ok() && r.v6.ok() {
		return "every row ok, exit 0"
	}
	row := func(w pathWant) string {
		if w.ok() {
			return "ok"
		}
		if w.connected {
			return "connected, no greeting"
		}
		return "`" + w.class + "`"
	}
	name, _ := r.name()
	return fmt.Sprintf("IPv4 %s, IPv6 %s, name %s; exit 1", row(r.v4), row(r.v6), row(name))
}
