package matrix

import "time"

// RouterFault is one row of docs/router.md's "Across a router" table and of
// its "What a failure means" table: a fault set in the namespace of the
// router between the clients' site and the servers'.
type RouterFault struct {
	// PathFault is the row as the path-fault table has it: its cells,
	// messages and meanings. Its Netfault are the router's faults.
	PathFault
	// ClientMTU, when set, is the MTU of the clients' link, so that both
	// ends of the router's small link agree (else the bigger end's frames
	// are dropped silently, a different fault).
	ClientMTU int
	// AdvMSS, when set, is the MSS the clients advertise on their route to
	// the servers' site: that of a 1500-byte link, as for a host on a
	// bigger network behind the small link, so that the server sends
	// segments the small link can't carry.
	AdvMSS int
	// Loop puts a second router in the clients' site, whose route to the
	// servers' site goes through the router ({loop4}, {loop6}).
	Loop bool
	// NAT: the server must log the router's address, never the client's.
	NAT bool
}

// The placeholders of a router row's netfault arguments, filled in by the
// suite with the addresses of the run's containers.
const (
	PlaceServer4 = "{server4}" // the server's addresses in site B
	PlaceServer6 = "{server6}"
	PlaceClient4 = "{client4}" // the clients' addresses in site A
	PlaceClient6 = "{client6}"
	PlaceRouter4 = "{router4}" // the router's addresses in site A
	PlaceRouter6 = "{router6}"
	PlaceLoop4   = "{loop4}" // the second router's, in site A
	PlaceLoop6   = "{loop6}"
)

// RouterTimeout is the client's -timeout and -read-timeout across the
// router: a drop costs one second of suite time, and the routed path's
// round trip is well under a millisecond.
const RouterTimeout = 1500 * time.Millisecond

// routerTook is how long an ICMP error from the router takes to end the
// connect: at once, as the client reads the error queue (see
// docs/router.md, "Who answered").
const routerTook = AtOnce

// RouterFaults is docs/router.md's "Across a router" table.
var RouterFaults = []RouterFault{
	{PathFault: PathFault{Fault: "none", Where: AtRouter, Timeout: RouterTimeout, V4: Greeted, V6: Greeted, Shows: ColIPv4,
		Means: "The router forwards both families both ways.",
		Next:  "Nothing."}},
	{PathFault: PathFault{Fault: "forwarding dropped, IPv4", Where: AtRouter, Timeout: RouterTimeout,
		Netfault: []string{"drop-forward", "-family", "ipv4"},
		V4:       Want{Class: "timeout", Took: AfterTimeout}, V6: Greeted, Shows: ColIPv4,
		Means: "A router on the way drops IPv4 to the server without a word (a FORWARD policy of DROP, a missing IPv4 rule); IPv6 takes the hostname through after the fallback.",
		Next:  "`traceroute -T -p 7890` over IPv4 to see the last hop that answers, then that router's forwarding rules; `-each` on the name."}},
	{PathFault: PathFault{Fault: "forwarding dropped, IPv6", Where: AtRouter, Timeout: RouterTimeout,
		Netfault: []string{"drop-forward", "-family", "ipv6"},
		V4:       Greeted, V6: Want{Class: "timeout", Took: AfterTimeout}, Shows: ColIPv6,
		Means: "The same for IPv6 only: a router with IPv6 forwarding off, or an ip6tables FORWARD policy nobody wrote rules for. A hostname hides it behind IPv4.",
		Next:  "`traceroute -6 -T -p 7890`, `sysctl net.ipv6.conf.all.forwarding` and the IPv6 forward rules on the router it stops at."}},
	{PathFault: PathFault{Fault: "forwarding dropped, both", Where: AtRouter, Timeout: RouterTimeout,
		Netfault: []string{"drop-forward"},
		V4:       Want{Class: "timeout", Took: AfterTimeout}, V6: Want{Class: "timeout", Took: AfterTimeout}, Shows: ColName,
		Means: "Nothing gets past a router in either family: it is down, forwarding is off, or a firewall on it drops the port. The client can't tell this from a server host that is off.",
		Next:  "`traceroute -T -p 7890` in both families: the last hop that answers is the one before the fault."}},
	{PathFault: PathFault{Fault: "reject, TCP reset", Where: AtRouter, Timeout: RouterTimeout,
		Netfault: []string{"reject-syn", "-with", "tcp-reset", "-hook", "forward"},
		V4:       Want{Class: "refused", Took: AtOnce}, V6: Want{Class: "refused", Took: AtOnce}, Shows: ColIPv4,
		Means: "A reset came back, but the router sent it in the server's name: on the wire it is the server's own refusal, so the client can't name the router.",
		Next:  "Whether the server listens (`ss -ltn` on it); if it does, the reject rules with `tcp-reset` on the routers and firewalls on the way; a capture on the server shows the SYN never arrived."}},
	{PathFault: PathFault{Fault: "reject, ICMP host unreachable", Where: AtRouter, Timeout: RouterTimeout,
		Netfault: []string{"reject-syn", "-with", "icmp-unreachable", "-hook", "forward"},
		V4:       Want{Class: "unreachable", Detail: "host unreachable, reported by {router} (on the way)", Took: routerTook},
		V6:       Want{Class: "unreachable", Detail: "host unreachable, reported by {router} (on the way)", Took: routerTook}, Shows: ColIPv4,
		Means: "The router at the named address answered the SYN with ICMP host unreachable (ICMPv6 address unreachable): it has no way on to the server, or a rule there rejects the port.",
		Next:  "That router: its route to the server's subnet (`ip route get`), its neighbour table, its reject rules."}},
	{PathFault: PathFault{Fault: "reject, ICMP admin-prohibited", Where: AtRouter, Timeout: RouterTimeout,
		Netfault: []string{"reject-syn", "-with", "icmp-admin-prohibited", "-hook", "forward"},
		V4:       Want{Class: "unreachable", Detail: "prohibited by a firewall at {router} (on the way)", Took: routerTook},
		V6:       Want{Class: "unreachable", Detail: "prohibited by a firewall at {router} (on the way)", Took: routerTook}, Shows: ColIPv6,
		Means: "A firewall at the named address rejects the connection: the server's own host never saw it.",
		Next:  "The forward rules of the firewall at that address (firewalld rejects with admin-prohibited by default), not the server's."}},
	{PathFault: PathFault{Fault: "link towards the client at MTU 1280, ICMP too big allowed, 2,000-byte greeting", Where: AtRouter, Timeout: RouterTimeout,
		Server:   []string{"-greeting", BigGreeting},
		Netfault: []string{"mtu", "-to", "1280", PlaceRouter4},
		V4:       Greeted, V6: Greeted, Shows: ColIPv4,
		Means: "The router's link towards the client is smaller than the server's, and the router says so (ICMP fragmentation needed, ICMPv6 packet too big): the server sends smaller segments and the greeting arrives, one round trip later.",
		Next:  "Nothing; `tracepath` shows the smaller hop."},
		ClientMTU: 1280, AdvMSS: 1460},
	{PathFault: PathFault{Fault: "same, too big dropped (the router's own output too)", Where: AtRouter, Timeout: RouterTimeout,
		Server:   []string{"-greeting", BigGreeting},
		Netfault: []string{"mtu", "-to", "1280", PlaceRouter4, "+", "drop-too-big"},
		V4:       Want{Class: "timeout", Connected: true, Took: AfterReadTimeout},
		V6:       Want{Class: "timeout", Connected: true, Took: AfterReadTimeout}, Shows: ColIPv4,
		Means: "A path MTU black hole where it really happens: the router can't forward the server's full-size segments and its \"too big\" never reaches the server, so the server resends them until the client gives up. Small greetings still pass.",
		Next:  "`tracepath` or `ping -M do -s 1472` from the server towards the client; ICMP filtering on the routers and firewalls on the way (\"too big\" must pass); MSS clamping on the small link."},
		ClientMTU: 1280, AdvMSS: 1460},
	{PathFault: PathFault{Fault: "NAT (masquerade)", Where: AtRouter, Timeout: RouterTimeout,
		Netfault: []string{"masquerade"},
		V4:       Greeted, V6: Greeted, Shows: ColIPv4,
		Means: "The greeting arrives, but the server's log names the router, not the client: `Connection received from 192.0.2.1 (192.0.2.1)` (its address on the server's side, logged with `-resolve=false`). Every client behind that router is one peer to the server.",
		Next:  "The NAT rules of the router named in the server's log when clients must be told apart; nothing otherwise."},
		NAT: true},
	{PathFault: PathFault{Fault: "flow state lost after the handshake", Where: AtRouter, Timeout: RouterTimeout,
		Netfault: []string{"lose-state"},
		V4:       Want{Class: "timeout", Connected: true, Took: AfterReadTimeout},
		V6:       Want{Class: "timeout", Connected: true, Took: AfterReadTimeout}, Shows: ColIPv4,
		Means: "The handshake went through a stateful firewall that then had no entry for the flow (its conntrack table flushed, a failover to a peer without state, an asymmetric path) and drops the server's packets as invalid.",
		Next:  "The stateful firewalls on the way: `conntrack -L`, failover and state sync, whether both directions cross the same firewall."}},
	{PathFault: PathFault{Fault: "routing loop", Where: AtRouter, Timeout: RouterTimeout,
		Netfault: []string{"route", PlaceServer4 + "/32", PlaceLoop4, PlaceServer6 + "/128", PlaceLoop6},
		V4:       Want{Class: "unreachable", Detail: "TTL exceeded at {loop} (on the way)", Took: routerTook},
		V6:       Want{Class: "unreachable", Detail: "hop limit exceeded at {loop} (on the way)", Took: routerTook}, Shows: ColIPv4,
		Means: "Two routers send the server's packets to each other until the TTL (hop limit) runs out; the one it runs out at, named, is in the loop.",
		Next:  "`traceroute` towards the server: the same addresses repeat; the routes to the server's subnet on the named router and its neighbours."},
		Loop: true},
	{PathFault: PathFault{Fault: "return route missing", Where: AtRouter, Timeout: RouterTimeout,
		Netfault: []string{"unroute", PlaceClient4, "+", "unroute", PlaceClient6},
		V4:       Want{Class: "timeout", Took: AfterTimeout}, V6: Want{Class: "timeout", Took: AfterTimeout}, Shows: ColName,
		Means: "The SYN reached the server, but its answer can't get back: a router on the way has no route to the client's network (asymmetric routing, a route that was never announced back).",
		Next:  "A capture on the server (SYNs arrive, SYN-ACKs leave, nothing more), then the route back to the client's subnet on each router from the server's side."}},
}
