package matrix

import (
	"math"
	"strings"
)

// Timeout is a probe that got no answer within its -read-timeout: exit 1,
// the timeout class.
const Timeout Outcome = "timeout"

// MultiHomedRow is one row of docs/datagrams.md's multi-homed table: a
// host with two addresses of a family on its link, a program answering
// datagrams on its wildcard address, and a client whose connected socket
// sends to one of the two.
type MultiHomedRow struct {
	Answerer string // SmileServer or NaiveResponder
	To       string // which address the client sends to: "first IPv4", "second IPv4", "second IPv6"
	Outcome  Outcome
}

// The programs of the multi-homed table.
const (
	SmileServer    = "smile-server"
	NaiveResponder = "naive wildcard responder"
)

// MultiHomed is docs/datagrams.md's multi-homed table. The naive responder
// (package naiveudp) answers with WriteTo from whatever source the kernel
// picks, the host's first address of the subnet, which the client's
// connected socket drops: the cell that smile-server passes can fail.
var MultiHomed = []MultiHomedRow{
	{SmileServer, "first IPv4", OK},
	{SmileServer, "second IPv4", OK},
	{SmileServer, "second IPv6", OK},
	{NaiveResponder, "first IPv4", OK},
	{NaiveResponder, "second IPv4", Timeout},
	// By chance: the kernel picked the second address as the answer's
	// source (docs/datagrams.md).
	{NaiveResponder, "second IPv6", OK},
}

// DatagramRouterRow is one row of docs/datagrams.md's table of datagrams
// across a router: the servers' site behind a 1,280-byte link (the
// router's leg there and the server's link), a fault at the router, and
// what the client prints, for each family.
type DatagramRouterRow struct {
	Case     string
	Netfault []string // the router's faults, none: ""
	// Args are the client's arguments; {server} stands for the server's
	// address of the family.
	Args     []string
	OnBridge bool // the client is in the server's own site, not across the router
	Exit     int
	// Prints are what the client's output holds, a line or part of one;
	// {server} and {router} stand for the addresses of the family, the
	// router's in the clients' site.
	Prints []string
	NAT    bool // the server must log the router's address, never the client's
}

// DatagramRouter is docs/datagrams.md's table of datagrams across a router.
var DatagramRouter = []DatagramRouterRow{
	{Case: "one bridge, nothing set", OnBridge: true, Args: []string{"-udp", "-count", "10", "{server}", "7890"},
		Prints: []string{"10 sent, 10 received, 0.0% loss, 0 duplicates, 0 reordered", "hops 0 (ttl 64)"}},
	{Case: "across the router, nothing set", Args: []string{"-udp", "-count", "10", "{server}", "7890"},
		Prints: []string{"10 sent, 10 received, 0.0% loss, 0 duplicates, 0 reordered", "hops 1 (ttl 63)"}},
	{Case: "link at MTU 1280, too big allowed", Args: []string{"-pmtu", "{server}", "7890"},
		Prints: []string{"path MTU 1280 over {family} (interface MTU 1500): too big reported by {router} (MTU 1280)"}},
	{Case: "same, too big dropped", Netfault: []string{"drop-too-big"}, Args: []string{"-pmtu", "{server}", "7890"}, Exit: 1,
		Prints: []string{"path MTU 1280 over {family} (interface MTU 1500): black hole: 1281-byte datagrams lost with no ICMP; 1280 cross"}},
	{Case: "NAT (masquerade)", Netfault: []string{"masquerade"}, Args: []string{"-udp", "{server}", "7890"},
		Prints: []string{"Smile from the server"}, NAT: true},
	{Case: "nothing answers on the port", Args: []string{"-udp", "{server}", "7891"}, Exit: 1,
		Prints: []string{"no answer over UDP from {server:7891}: refused: port unreachable, reported by {server} (the server itself)"}},
}

// Render fills a row's placeholders with the addresses of one family.
func Render(s, server, router string) string {
	family, hostPort := "IPv4", server+":7891"
	if strings.Contains(server, ":") {
		family, hostPort = "IPv6", "["+server+"]:7891"
	}
	return strings.NewReplacer("{server:7891}", hostPort, "{server}", server, "{router}", router, "{family}", family).Replace(s)
}

// LossRow is a loss rate set at a router and the probes sent through it.
type LossRow struct{ Percent, Count int }

// LossRows are the rates of docs/datagrams.md's loss tables.
var LossRows = []LossRow{{0, 2000}, {5, 2000}, {20, 2000}, {50, 2000}}

// LossTolerance is how far a correct client's loss ratio may be from the
// rate set, for count probes each dropped with probability p: four
// standard deviations of the binomial, sqrt(p(1-p)/count), and one probe
// (a fair run falls outside once in some 16,000), exactly 0 for p = 0.
func LossTolerance(p float64, count int) float64 {
	if p == 0 {
		return 0
	}
	return 4*math.Sqrt(p*(1-p)/float64(count)) + 1/float64(count)
}
