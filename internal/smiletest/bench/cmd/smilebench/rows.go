//go:build linux

package main

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/smile-sockets/smile/internal/smiletest/bench"
)

// role is what a row is in the comparison.
type role int

const (
	// reference rows are yardsticks the others are divided by.
	reference role = iota
	// measured rows are smile-server or smile-client as shipped, or with
	// one flag.
	measured
	// contrast rows show a design smile avoids, for scale; they take the
	// resolve timeout per probe, so they get no warm-up.
	contrast
)

// row is one line of the table: a server under one loader.
type row struct {
	name    string // short: the round lines and the table's first column
	role    role
	server  string // what serves, as the table says it
	target  *proc
	loader  loader
	probes  int // per round
	results []bench.Summary
	skip    string // why the row was not measured; "" when it was
	// group is the -only name that selects the row.
	group string
	// yard is the row the "vs c" columns divide by; nil: the table's c.
	yard *row
}

// servers are the processes the rows load.
type servers struct {
	c, baseline, def, noResolve, deadDNS, sequential *proc
	// meshOn is smile-server with -http and -mesh, probing farm peers.
	meshOn *proc
	// cSkip says why there is no C loop to measure.
	cSkip string
	// cDgram is the C datagram loop, smileDgram the smile-server whose
	// datagrams its rows measure; dgramSkip says why they are not
	// measured.
	cDgram, smileDgram *proc
	dgramSkip          string
	// matrix is smile-server -mesh over the row farm with -http, which
	// 64 clients hold while the rounds run.
	matrix *proc
}

// table is the rows in the order they run in each round, and the rows
// the ratios are taken against.
type table struct {
	rows []*row
	// c is the C loop under the dial loop: the machine's limit for the
	// protocol, the yardstick of the "vs c" columns.
	c *row
	// goClient is the Go baseline under smile-client: the yardstick of
	// the "vs go" columns.
	goClient *row
	targets  []target
}

// others are the peers the dead-DNS rows dial from: not in /etc/hosts, so
// their reverse lookups go to the DNS server.
const others = "127.0.0.2-127.0.0.9"

// newTable lays out the rows. Rows that are compared run back to back, and
// ratios are taken within a round, then the median of the rounds.
func newTable(o options, e *env, s servers) table {
	client := clientLoader(o.bin, e.tmp, o.workers)
	dial := dialLoader(e.self, o.workers, "", 5*time.Second)
	dialOthers := dialLoader(e.self, o.workers, others, 5*time.Second)
	dgram := dgramLoader(e.self, o.workers, dgramSize, time.Second)
	seqTimeout := time.Duration(o.seqCount+2) * (o.resolveTimeout + time.Second)
	var (
		goClient    = &row{name: "go", role: reference, server: "Go baseline: accept, write, close (harness)", target: s.baseline, loader: client, probes: o.count}
		smileClient = &row{name: "smile", role: measured, server: "smile-server (log to file, rDNS via /etc/hosts)", target: s.def, loader: client, probes: o.count}
		cDial       = &row{name: "c", role: reference, server: "C loop: accept, write, close (cc -O2)", target: s.c, loader: dial, probes: o.count, skip: s.cSkip}
		goDial      = &row{name: "go/dial", role: reference, server: "Go baseline (as row go)", target: s.baseline, loader: dial, probes: o.count}
		smileDial   = &row{name: "smile/dial", role: measured, server: "smile-server (as row smile)", target: s.def, loader: dial, probes: o.count}
		deadDNS     = &row{name: "deaddns", role: measured, server: "smile-server -resolver <dead stub>", target: s.deadDNS, loader: dialOthers, probes: o.count}
		noResolve   = &row{name: "noresolve", role: measured, server: "smile-server -resolve=false", target: s.noResolve, loader: client, probes: o.count}
		meshOn      = &row{name: "meshon", role: measured, server: fmt.Sprintf("smile-server -http -mesh (%d peers every %v, /metrics scraped every %v, %d clients holding /matrix.json unread)", meshOnPeers, meshOnInterval, scrapeEvery, matrixHolders),
			target: s.meshOn, loader: client, probes: o.count}
		sequential = &row{name: "sequential", role: contrast, server: "sequential, lookup inline, <dead stub>", target: s.sequential,
			loader: dialLoader(e.self, o.workers, others, seqTimeout), probes: o.seqCount}
		matrix = &row{name: "matrix", role: measured, group: "matrix", server: fmt.Sprintf("smile-server -http -mesh (%d peers serving rows, %d clients holding /matrix.json unread)", rowFarmPeers, matrixHolders),
			target: s.matrix, loader: client, probes: o.count}
		udpC = &row{name: "udp/c", role: reference, group: "udp", server: "C loop: recvmsg, sendmsg from the address asked (IP_PKTINFO, cc -O2)",
			target: s.cDgram, loader: dgram, probes: o.count, skip: cmp.Or(s.dgramSkip, s.cSkip)}
		udpSmile = &row{name: "udp/smile", role: measured, group: "udp", server: "smile-server datagrams (log to file, rDNS via /etc/hosts)",
			target: s.smileDgram, loader: dgram, probes: o.count, skip: s.dgramSkip, yard: udpC}
	)
	udpC.yard = udpC
	t := table{
		rows:     []*row{goClient, smileClient, meshOn, matrix, goDial, cDial, smileDial, deadDNS, noResolve, sequential, udpC, udpSmile},
		c:        cDial,
		goClient: goClient,
		targets: []target{
			{"smile-server conn/s vs C loop, same loader", smileDial, cDial, connRate, atLeast, 0.90, 0.95},
			{"smile-server p99 vs C loop, same loader", smileDial, cDial, p99, atMost, 1.5, 0},
			{"smile-server conn/s vs Go baseline", smileClient, goClient, connRate, atLeast, 0.90, 0},
			{"smile-server p99 vs Go baseline", smileClient, goClient, p99, atMost, 2, 0},
			{"smile-server -resolve=false conn/s vs Go baseline", noResolve, goClient, connRate, atLeast, 0.90, 0},
			{"smile-server -http -mesh conn/s vs smile-server default", meshOn, smileClient, connRate, atLeast, 0.95, 0},
			{"-mesh -http, /matrix.json held by 64, vs smile-server default", matrix, smileClient, connRate, atLeast, 0.95, 0},
			{"dead DNS vs smile-server default, same loader", deadDNS, smileDial, connRate, atLeast, 0.90, 0},
			{"dead DNS vs smile-server default", deadDNS, smileClient, connRate, atLeast, 0.90, 0},
			{"smile-client vs minimal dial loop, same server", goClient, goDial, connRate, atLeast, 0.95, 0},
			{"sequential server vs smile-server dead DNS", sequential, deadDNS, connRate, noTarget, 0, 0},
			{"smile-server datagrams/s vs C recvmsg loop, same loader", udpSmile, udpC, connRate, atLeast, 0.90, 0},
			{"smile-server datagram p99 vs C recvmsg loop, same loader", udpSmile, udpC, p99, atMost, 1.5, 0},
		},
	}
	for _, rw := range t.rows {
		rw.group = cmp.Or(rw.group, "tcp")
	}
	t.only(o.only)
	return t
}

// groups are the names -only selects rows by, in the order they run.
var groups = []string{"tcp", "matrix", "udp", "meshscale", "loss"}

// only keeps the rows of the groups selected, and the rows their targets
// divide by (row matrix's yardstick is row smile); an empty set keeps
// every row.
func (t *table) only(sel map[string]bool) {
	if len(sel) == 0 {
		return
	}
	keep := map[*row]bool{}
	var targets []target
	for _, tg := range t.targets {
		if sel[tg.a.group] {
			keep[tg.a], keep[tg.b] = true, true
			targets = append(targets, tg)
		}
	}
	var rows []*row
	for _, rw := range t.rows {
		if sel[rw.group] || keep[rw] {
			rows = append(rows, rw)
		}
	}
	t.rows, t.targets = rows, targets
}

// runs reports whether the row is in the table.
func (t table) runs(r *row) bool { return slices.Contains(t.rows, r) }

// String names a row in messages.
func (r *row) String() string {
	return fmt.Sprintf("row %s (%s, %s)", r.name, r.server, r.loader.name)
}

// byName is the row of that name, nil for none.
func (t table) byName(name string) *row {
	for _, rw := range t.rows {
		if rw.name == name {
			return rw
		}
	}
	return nil
}
