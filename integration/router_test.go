package integration

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"

	"github.com/smile-sockets/smile/internal/smiletest/matrix"
)

// rowHosts are the host numbers of a router row's containers. The rows
// share the two sites' networks, each with its own router and hosts, which
// route the other site through their row's router only.
type rowHosts struct{ client, loop, server, router int }

// sharedClients is the host number in site A of the host that the clients
// of most router rows share.
const sharedClients = 9

// hostRoute are the netfault arguments, ending in "+", that route a row's
// server, and nothing else, through the row's router.
func hostRoute(s *sites, h rowHosts, advmss int) []string {
	v4, v6 := s.b.host(h.server)
	r4, r6 := s.routerAddrs(s.a)
	args := []string{"route"}
	if advmss > 0 {
		args = append(args, "-advmss", strconv.Itoa(advmss))
	}
	return append(args, netip.PrefixFrom(v4, 32).String(), r4.String(), netip.PrefixFrom(v6, 128).String(), r6.String(), "+")
}

// routedHosts are row i's: its clients' host (unless they share one) and
// the routing loop's second router in site A, its server's host in site B, its router in both.
func routedHosts(i int) rowHosts {
	return rowHosts{client: 10 + i, loop: 60 + i, server: 100 + i, router: 200 + i}
}

// clientsAtOnce is how many of TestRouter's clients run at once: as many
// as the suite's -parallel 8 lets other matrices run, whose timings hold.
const clientsAtOnce = 8

// TestRouter runs every cell of docs/router.md's "Across a router" table:
// two sites, and for each row a router between them with the row's
// faults, a server in site B and, for each column, a client in site A
// naming it that way. Every row's containers start at once, in two steps
// (the routers and hosts, then the servers that join the hosts), so
// setting up thirteen topologies costs about what one does; then the
// rows' cells run in parallel. The rows share the sites' two networks:
// each pair of networks of its own cost the daemon 1.6 CPU-seconds to
// make and remove.
func TestRouter(t *testing.T) {
	t.Parallel()
	requireImages(t)
	requireNetfault(t)
	start := time.Now()
	t.Cleanup(func() {
		t.Logf("router matrix: %d rows in %v", len(matrix.RouterFaults), time.Since(start).Round(time.Millisecond))
	})
	type routed struct {
		s       *sites
		h       rowHosts
		a       matrix.Addrs
		at      [2]int // its server's host and its clients' host in hosts, -1: the shared clients' host
		clients string
		server  *testcontainers.DockerContainer
	}
	rows := make([]routed, len(matrix.RouterFaults))
	require.Less(t, len(matrix.RouterFaults), 50, "host numbers of the rows (routedHosts) overlap")
	var hosts []spec
	shared := newSites(t)
	// The clients of every row whose link keeps its MTU run on one host,
	// which routes each row's server through that row's router.
	var sharedRoutes, sharedNames []string
	for i, row := range matrix.RouterFaults {
		h := routedHosts(i)
		if row.ClientMTU == 0 {
			h.client = sharedClients
		}
		s := shared.withRouter(h.router)
		a, place := routedAddrs(s, h, "smile-routed-"+randomHex(3))
		args := make([]string, len(row.Netfault))
		for j, arg := range row.Netfault {
			args[j] = place.Replace(arg)
		}
		rows[i] = routed{s: s, h: h, a: a, at: [2]int{len(hosts), -1}}
		hosts = append(hosts, s.host(t, s.b, h.server, hostOpts{}), s.router(t, args...))
		if row.Loop {
			hosts = append(hosts, s.host(t, s.a, h.loop, hostOpts{sysctls: forwarding}))
		}
		names := []string{a.Name + ":" + a.V4, a.Name + ":" + a.V6}
		if row.ClientMTU == 0 {
			sharedRoutes = append(sharedRoutes, hostRoute(s, h, row.AdvMSS)...)
			sharedNames = append(sharedNames, names...)
			continue
		}
		o := hostOpts{extraHosts: names, advmss: row.AdvMSS,
			faults: []string{"mtu", "-to", strconv.Itoa(row.ClientMTU), place.Replace(matrix.PlaceClient4)}}
		rows[i].at[1] = len(hosts)
		hosts = append(hosts, s.host(t, s.a, h.client, o))
	}
	hosts = append(hosts, shared.holder(t, "host", shared.a, sharedClients, nil, sharedNames, sharedRoutes[:len(sharedRoutes)-1]))
	started := runAll(t, hosts...)
	servers := make([]spec, len(rows))
	for i, row := range matrix.RouterFaults {
		rows[i].clients = started[len(started)-1].GetContainerID()
		if rows[i].at[1] >= 0 {
			rows[i].clients = started[rows[i].at[1]].GetContainerID()
		}
		servers[i] = serverSpec(t, serverOpts{args: append([]string{"-resolve=false"}, row.Server...),
			holder: started[rows[i].at[0]].GetContainerID(), started: 1})
	}
	for i, srv := range runAll(t, servers...) {
		rows[i].server = srv
	}
	t.Logf("%d topologies up in %v", len(rows), time.Since(start).Round(time.Millisecond))

	// Every cell's client, each a process in its row's client host, at
	// most clientsAtOnce at a time; then each row's cells checked.
	type cell struct {
		host string
		args []string
	}
	var cells []cell
	for i, row := range matrix.RouterFaults {
		for _, args := range columnArgs(row.PathFault, rows[i].a) {
			cells = append(cells, cell{rows[i].clients, args})
		}
	}
	ran := make([]result, len(cells))
	errs := make([]error, len(cells))
	slots := make(chan struct{}, clientsAtOnce)
	var wg sync.WaitGroup
	for i, c := range cells {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			ran[i], errs[i] = runInHost(c.host, c.args...)
		})
	}
	wg.Wait()
	t.Logf("%d clients ran in %v", len(ran), time.Since(start).Round(time.Millisecond))
	for i, row := range matrix.RouterFaults {
		r := rows[i]
		t.Run(row.Fault, func(t *testing.T) {
			for col, name := range matrix.PathColumns {
				t.Run(name, func(t *testing.T) {
					require.NoError(t, errs[i*len(matrix.PathColumns)+col])
					res := ran[i*len(matrix.PathColumns)+col]
					t.Logf("%v", res)
					checkColumn(t, row.PathFault, col, r.a, res)
				})
			}
			if row.NAT {
				checkNAT(t, r.s, r.h, r.server.GetContainerID())
			}
		})
	}
}

// routedAddrs are the addresses of a router row, as its messages name them
// and as its faults' placeholders stand for them.
func routedAddrs(s *sites, h rowHosts, name string) (matrix.Addrs, *strings.Replacer) {
	server4, server6 := s.b.host(h.server)
	client4, client6 := s.a.host(h.client)
	router4, router6 := s.routerAddrs(s.a)
	loop4, loop6 := s.a.host(h.loop)
	a := matrix.Addrs{V4: server4.String(), V6: server6.String(), Name: name,
		Router4: router4.String(), Router6: router6.String(), Loop4: loop4.String(), Loop6: loop6.String()}
	return a, strings.NewReplacer(
		matrix.PlaceServer4, a.V4, matrix.PlaceServer6, a.V6,
		matrix.PlaceClient4, client4.String(), matrix.PlaceClient6, client6.String(),
		matrix.PlaceRouter4, a.Router4, matrix.PlaceRouter6, a.Router6,
		matrix.PlaceLoop4, a.Loop4, matrix.PlaceLoop6, a.Loop6)
}

// checkNAT asserts that the server logged every connection as coming from
// the router's address in its own site, never from the client's.
func checkNAT(t *testing.T, s *sites, h rowHosts, server string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stdout, _, err := containerLogs(ctx, server)
	if !assert.NoError(t, err) {
		return
	}
	b4, b6 := s.routerAddrs(s.b)
	c4, c6 := s.a.host(h.client)
	var peers []string
	for _, line := range strings.Split(stdout, "\n") {
		if _, from, ok := strings.Cut(line, "Connection received from "); ok {
			peers = append(peers, from)
		}
	}
	assert.NotEmpty(t, peers, "the server logged no connection: %s", stdout)
	for _, p := range peers {
		assert.Contains(t, []string{b4.String() + " (" + b4.String() + ")", b6.String() + " (" + b6.String() + ")"}, p,
			"the server must log the router's address, not the client's %v or %v", c4, c6)
	}
}
