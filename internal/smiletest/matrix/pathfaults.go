package matrix

import (
	"fmt"
	"strings"
	"time"
)

// Span is how long a probe may take, in wide bounds: the containers share
// a busy machine, so only the order of magnitude is asserted.
type Span int

const (
	AtOnce           Span = iota // a reject or a greeting: well under a second
	AfterTimeout                 // nothing answered: the client's -timeout
	AfterReadTimeout             // connected, nothing read: the client's -read-timeout
	AfterNeighbour               // ARP/ND gave up: about 3 s, inside -timeout
)

// Bounds returns the shortest and longest time a probe of this span may
// take with the given -timeout (which is also the -read-timeout).
func (s Span) Bounds(timeout time.Duration) (lo, hi time.Duration) {
	const slack = 1500 * time.Millisecond
	switch s {
	case AfterTimeout, AfterReadTimeout:
		// Docker stamps a container's start and finish; under load they
		// were seen up to 0.56 s closer together than the process ran (a
		// 1.5 s timeout stamped 0.94 s with the whole suite running).
		return timeout / 2, timeout + slack
	case AfterNeighbour:
		return 2 * time.Second, timeout + slack
	}
	// Docker's start and finish stamps of a quick process can even be a
	// few milliseconds out of order: no lower bound.
	return -time.Hour, slack
}

// Words say the span in the path-fault table of docs/path-faults.md.
func (s Span) Words() string {
	return [...]string{"at once", "after `-timeout`", "after `-read-timeout`", "after ARP/ND gives up (≈3 s)"}[s]
}

// Want is what dialling one address of the server gives: a greeting, a
// failure to connect, or a connection that never brings a greeting.
type Want struct {
	Class string // "" when greeted
	// Detail are the words after the class, if the client adds any;
	// {dst} stands for the address dialled, {router} and {loop} for the
	// address of the router or the routing loop's other router that sent
	// an ICMP error (see Addrs).
	Detail    string
	Connected bool // the handshake completed: "connected, but no greeting"
	Took      Span
}

// Greeted is a probe that got the greeting.
var Greeted = Want{Took: AtOnce}

// OK reports whether the probe is greeted.
func (w Want) OK() bool { return w.Class == "" }

// FailedToConnect reports whether the client never had a connection, so a
// name falls back to its next address.
func (w Want) FailedToConnect() bool { return !w.OK() && !w.Connected }

// classText is the class and its detail as the client prints them, with
// the addresses of the family dialled.
func (w Want) classText(a Addrs, v6 bool) string {
	if w.Detail != "" {
		return w.Class + ": " + a.render(w.Detail, v6)
	}
	return w.Class
}

// Where says where a row's fault goes.
type Where int

const (
	NoFault     Where = iota
	InServer          // netfault in the server's network namespace
	InClient          // netfault in the namespace the row's clients share
	PauseServer       // docker pause: the kernel still completes handshakes
	StopServer        // docker stop: the address stays routed, nobody answers ARP/ND
	AtRouter          // netfault in the router's namespace (docs/router.md)
)

// PathFault is one row of the path-fault table of docs/path-faults.md and
// of its "What a failure means" table.
type PathFault struct {
	Fault  string
	Server []string // the server's arguments
	Where  Where
	// Netfault are the fault helper's arguments (internal/smiletest/netfault); {v6}
	// stands for the server's IPv6 address.
	Netfault []string
	Timeout  time.Duration // the client's -timeout and -read-timeout; 0: DefaultTimeout
	V4, V6   Want          // each address dialled alone
	Shows    int           // the column whose output "What a failure means" quotes
	Means    string        // what it means on a real network
	Next     string        // what to check next
}

// The columns of the path-fault table.
const (
	ColIPv4 = iota
	ColIPv6
	ColName
	ColEach
)

// PathColumns are the path-fault table's column headers, without backticks.
var PathColumns = []string{"dotted IPv4", "IPv6 literal", "hostname", "-each hostname"}

// DefaultTimeout is the client's -timeout and -read-timeout in the matrix:
// short, so a drop costs little suite time, and far above any RTT there.
const DefaultTimeout = 2 * time.Second

// BigGreeting is larger than the 1280 bytes the black hole lets through.
var BigGreeting = strings.Repeat("Smile from the server, in a big packet. ", 60)[:2000]

// PathFaults is the path-fault table of docs/path-faults.md: a fault between client and
// server × how the client names the server.
var PathFaults = []PathFault{
	{Fault: "none", V4: Greeted, V6: Greeted, Shows: ColIPv4,
		Means: "TCP works over both families, and the server answers.",
		Next:  "Nothing."},
	{Fault: "IPv4 SYNs dropped", Where: InServer, Netfault: []string{"drop-syn", "-family", "ipv4"},
		V4: Want{Class: "timeout", Took: AfterTimeout}, V6: Greeted, Shows: ColIPv4,
		Means: "Nothing answered the SYN: a firewall or security group drops IPv4 to the port, or the host is off the path (a wrong route, a black-holed subnet). A hostname still works over IPv6 after the 300 ms fallback, which hides the fault; `-each` shows it.",
		Next:  "Firewall DROP rules and cloud security groups for IPv4 to the port; `-each` on the name; a capture on the server shows whether the SYN arrives."},
	{Fault: "IPv6 SYNs dropped", Where: InServer, Netfault: []string{"drop-syn", "-family", "ipv6"},
		V4: Greeted, V6: Want{Class: "timeout", Took: AfterTimeout}, Shows: ColIPv6,
		Means: "The same drop for IPv6 only: ip6tables/nftables rules that differ from the IPv4 ones, or a security group without IPv6 rules.",
		Next:  "The IPv6 firewall rules (they are a separate table), the IPv6 route to the server, `-each` on the name."},
	{Fault: "both dropped", Where: InServer, Netfault: []string{"drop-syn"},
		V4: Want{Class: "timeout", Took: AfterTimeout}, V6: Want{Class: "timeout", Took: AfterTimeout}, Shows: ColName,
		Means: "No SYN got an answer over either family within one `-timeout`: a firewall drops the port, or the host is not on the path.",
		Next:  "Firewall DROP rules for the port on the server and on the way; whether the server's host is up at all."},
	{Fault: "reject with TCP reset", Where: InServer, Netfault: []string{"reject-syn", "-with", "tcp-reset"},
		V4: Want{Class: "refused", Took: AtOnce}, V6: Want{Class: "refused", Took: AtOnce}, Shows: ColIPv4,
		Means: "A reset came back: nothing listens on that address and port, or a firewall rejects with a TCP reset; both look the same on the wire.",
		Next:  "Whether the server runs and listens on that address and family (`ss -ltn`, its start line), then REJECT rules with `tcp-reset`."},
	{Fault: "reject with ICMP(v6) unreachable", Where: InServer, Netfault: []string{"reject-syn", "-with", "icmp-unreachable"},
		V4: Want{Class: "unreachable", Detail: "host unreachable, reported by {dst} (the server itself)", Took: AtOnce},
		V6: Want{Class: "unreachable", Detail: "host unreachable, reported by {dst} (the server itself)", Took: AtOnce}, Shows: ColIPv4,
		Means: "The server's own host answered the SYN with ICMP host unreachable (ICMPv6 address unreachable): the client names who sent the error, here the server's address (a router on the way is named as such: [across a router](router.md)).",
		Next:  "REJECT rules on the server's host (`nft list ruleset`, `iptables -S`)."},
	{Fault: "reject with ICMP(v6) admin-prohibited", Where: InServer, Netfault: []string{"reject-syn", "-with", "icmp-admin-prohibited"},
		V4: Want{Class: "unreachable", Detail: "prohibited by a firewall at {dst} (the server itself)", Took: AtOnce},
		V6: Want{Class: "unreachable", Detail: "prohibited by a firewall at {dst} (the server itself)", Took: AtOnce}, Shows: ColIPv6,
		Means: "A firewall on the server's own host rejected the SYN with ICMP communication administratively prohibited. The errno alone can't tell (Linux gives IPv4 the host-unreachable errno, IPv6 permission denied): the ICMP type and sender the client reads can.",
		Next:  "REJECT rules with `admin-prohibited` (firewalld's default), on the server and on the way."},
	{Fault: "client has no route to the IPv6 subnet", Where: InClient, Netfault: []string{"unroute", "{v6}"},
		V4: Greeted, V6: Want{Class: "unreachable", Detail: "network is unreachable", Took: AtOnce}, Shows: ColIPv6,
		Means: "The client's own host has no route for the address (no IPv6 default route, no address on the subnet): nothing was sent.",
		Next:  "`ip -6 route` on the client's host; whether its network has IPv6 at all; `-4` if it must not."},
	{Fault: "handshake ok, server's data dropped", Where: InServer, Netfault: []string{"drop-sent"},
		V4: Want{Class: "timeout", Connected: true, Took: AfterReadTimeout}, V6: Want{Class: "timeout", Connected: true, Took: AfterReadTimeout}, Shows: ColIPv4,
		Means: "The handshake completed, then nothing came: the server accepted but never wrote, or what it sent is lost on the way back (asymmetric routing, a stateful firewall that lost the flow).",
		Next:  "The server's log (did it see the connection?), then the return path: routes and firewalls from the server back to the client."},
	{Fault: "path MTU black hole, greeting > 1280 bytes", Server: []string{"-greeting", BigGreeting}, Where: InServer, Netfault: []string{"drop-larger", "-than", "1280"},
		V4: Want{Class: "timeout", Connected: true, Took: AfterReadTimeout}, V6: Want{Class: "timeout", Connected: true, Took: AfterReadTimeout}, Shows: ColIPv4,
		Means: "Small packets pass, big ones vanish without an ICMP \"too big\": a tunnel or VPN with a smaller MTU behind a firewall that drops ICMP.",
		Next:  "The path MTU (`ping -M do -s 1400`, `tracepath`), ICMP filtering on the way, MSS clamping on the tunnel."},
	{Fault: "…same, default greeting", Where: InServer, Netfault: []string{"drop-larger", "-than", "1280"},
		V4: Greeted, V6: Greeted, Shows: ColIPv4,
		Means: "The default greeting fits in one small packet, so the same black hole goes unnoticed.",
		Next:  "A greeting larger than the MTU (`-greeting`) to test the path with big packets."},
	{Fault: "server frozen (`docker pause`)", Where: PauseServer,
		V4: Want{Class: "timeout", Connected: true, Took: AfterReadTimeout}, V6: Want{Class: "timeout", Connected: true, Took: AfterReadTimeout}, Shows: ColIPv4,
		Means: "The server's kernel completed the handshake from its listen queue, but the process never wrote: it is frozen, overloaded or stuck.",
		Next:  "The server process: its log, CPU, `docker ps`/`kubectl get pod` state, the listen queue (`ss -ltn`)."},
	{Fault: "server host down (stopped, address routed)", Where: StopServer, Timeout: 5 * time.Second,
		V4: Want{Class: "unreachable", Detail: "host unreachable, reported by this host", Took: AfterNeighbour},
		V6: Want{Class: "unreachable", Detail: "host unreachable, reported by this host", Took: AfterNeighbour}, Shows: ColName,
		Means: "Nobody on the server's own subnet answers ARP (IPv4) or neighbour discovery (IPv6) for the address: the host or container is down.",
		Next:  "Whether the server's host is up and still has that address; the neighbour table (`ip neigh`) of the last router."},
}

// ClientTimeout is the row's -timeout.
func (r PathFault) ClientTimeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

// Name is what a client naming the server by its hostname gets: the IPv4
// address is dialled first (Go's resolver sorts IPv4 before a ULA IPv6
// address), IPv6 after the fallback delay or as soon as IPv4 fails, and
// the first connection wins.
func (r PathFault) Name() (w Want, fellBack bool) {
	switch {
	case !r.V4.FailedToConnect():
		return r.V4, false
	case !r.V6.FailedToConnect():
		return r.V6, true
	}
	return Want{Class: r.V4.Class, Took: max(r.V4.Took, r.V6.Took)}, false
}

// Each is what -each's row for the IPv4 address, the IPv6 address and the
// name get.
func (r PathFault) Each() [3]Want {
	name, _ := r.Name()
	return [3]Want{r.V4, r.V6, name}
}

// Addrs are the server's addresses and name a row's messages are rendered
// with, and those of the routers on the way that may answer for it.
type Addrs struct {
	V4, V6, Name     string
	Router4, Router6 string // the router's address towards the client
	Loop4, Loop6     string // the other router of a routing loop
}

// DocAddrs are those of docs/path-faults.md and docs/router.md:
// documentation addresses and a plain name.
var DocAddrs = Addrs{V4: "192.0.2.10", V6: "2001:db8::10", Name: "srv",
	Router4: "198.51.100.1", Router6: "2001:db8:a::1", Loop4: "198.51.100.2", Loop6: "2001:db8:a::2"}

// render puts the family's addresses into a Detail.
func (a Addrs) render(detail string, v6 bool) string {
	dst, router, loop := a.V4, a.Router4, a.Loop4
	if v6 {
		dst, router, loop = a.V6, a.Router6, a.Loop6
	}
	return strings.NewReplacer("{dst}", dst, "{router}", router, "{loop}", loop).Replace(detail)
}

// Target is host:port as the column names the server.
func (a Addrs) Target(col int) string {
	switch col {
	case ColIPv4:
		return a.V4 + ":7890"
	case ColIPv6:
		return "[" + a.V6 + "]:7890"
	}
	return a.Name + ":7890"
}

// Stderr is exactly what smile-client writes to stderr for the column (not
// -each): nothing when greeted.
func (r PathFault) Stderr(col int, a Addrs) string {
	w := r.V4
	target, dialled := a.Target(col), a.Target(col)
	switch col {
	case ColIPv6:
		w = r.V6
	case ColName:
		var fellBack bool
		w, fellBack = r.Name()
		dialled = a.Target(ColIPv4)
		if fellBack {
			dialled = a.Target(ColIPv6)
		}
		if w.FailedToConnect() {
			return fmt.Sprintf("smile-client: can't connect to %s: %s %s, %s %s\n",
				target, a.Target(ColIPv4), r.V4.Class, a.Target(ColIPv6), r.V6.Class)
		}
	}
	where := target
	if dialled != target {
		where += " (" + dialled + ")"
	}
	v6 := strings.HasPrefix(dialled, "[")
	switch {
	case w.OK():
		return ""
	case w.Connected:
		return fmt.Sprintf("smile-client: connected to %s, but no greeting: %s\n", where, w.classText(a, v6))
	}
	return fmt.Sprintf("smile-client: can't connect to %s: %s\n", where, w.classText(a, v6))
}

// Prints is what the "What a failure means" tables of docs/path-faults.md
// and docs/router.md quote: the shown column's stderr, or the greeting (a
// long one cut short with "…").
func (r PathFault) Prints() string {
	if s := r.Stderr(r.Shows, DocAddrs); s != "" {
		return strings.TrimSuffix(s, "\n")
	}
	if g := r.Greeting(); len(g) > 60 {
		return g[:40] + "…"
	}
	return r.Greeting()
}

// Greeting is what the row's server sends.
func (r PathFault) Greeting() string {
	if len(r.Server) == 2 && r.Server[0] == "-greeting" {
		return r.Server[1]
	}
	return "Smile from the server"
}

// Cell is the row's entry in the path-fault table for a column.
func (r PathFault) Cell(col int) string {
	one := func(w Want) string {
		switch {
		case w.OK():
			return "ok"
		case w.Connected:
			return "connected, no greeting (`" + w.Class + "` " + w.Took.Words() + ")"
		}
		return "`" + w.Class + "` " + w.Took.Words()
	}
	switch col {
	case ColIPv4:
		return one(r.V4)
	case ColIPv6:
		return one(r.V6)
	case ColName:
		w, fellBack := r.Name()
		switch {
		case fellBack:
			return one(w) + " (IPv6 after the fallback)"
		case w.FailedToConnect():
			return fmt.Sprintf("fails %s, naming IPv4 `%s`, IPv6 `%s`", w.Took.Words(), r.V4.Class, r.V6.Class)
		}
		return one(w)
	}
	if r.V4.OK() && r.V6.OK() {
		return "every row ok, exit 0"
	}
	row := func(w Want) string {
		switch {
		case w.OK():
			return "ok"
		case w.Connected:
			return "connected, no greeting"
		}
		return "`" + w.Class + "`"
	}
	e := r.Each()
	return fmt.Sprintf("IPv4 %s, IPv6 %s, name %s; exit 1", row(e[0]), row(e[1]), row(e[2]))
}
