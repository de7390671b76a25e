package integration

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/smile-sockets/smile/internal/matrix"
)

// Host numbers of the router rows' containers (the router is routerHost).
const (
	routedClient = 10  // site A: the clients' namespace
	routedLoop   = 20  // site A: the routing loop's second router
	routedServer = 200 // site B
)

// TestRouter runs every cell of docs/router.md's "Across a router" table:
// for each row two sites, a router between them with the row's faults,
// a server in site B and, for each column, a client in site A naming it
// that way. Rows and cells run in parallel.
func TestRouter(t *testing.T) {
	t.Parallel()
	requireImages(t)
	requireNetfault(t)
	start := time.Now()
	t.Cleanup(func() {
		t.Logf("router matrix: %d rows in %v", len(matrix.RouterFaults), time.Since(start).Round(time.Millisecond))
	})
	for _, row := range matrix.RouterFaults {
		t.Run(row.Fault, func(t *testing.T) {
			t.Parallel()
			s := newSites(t)
			a, place := routedAddrs(s, "smile-routed-"+randomHex(3))
			args := make([]string, len(row.Netfault))
			for i, arg := range row.Netfault {
				args[i] = place.Replace(arg)
			}
			o := hostOpts{extraHosts: []string{a.Name + ":" + a.V4, a.Name + ":" + a.V6}, advmss: row.AdvMSS}
			if row.ClientMTU > 0 {
				o.faults = []string{"mtu", "-to", strconv.Itoa(row.ClientMTU), place.Replace(matrix.PlaceClient4)}
			}
			// The router and the hosts of both sites at once.
			specs := []spec{s.host(t, s.b, routedServer, hostOpts{}), s.host(t, s.a, routedClient, o), s.router(t, args...)}
			if row.Loop {
				specs = append(specs, s.host(t, s.a, routedLoop, hostOpts{sysctls: forwarding}))
			}
			hosts := runAll(t, specs...)
			srv := startServer(t, serverOpts{args: append([]string{"-resolve=false"}, row.Server...),
				holder: hosts[0].GetContainerID(), started: 1})
			clients := hosts[1].GetContainerID()
			if row.NAT {
				// Registered before the cells, so it runs once they are done.
				t.Cleanup(func() { checkNAT(t, s, srv.GetContainerID()) })
			}
			checkColumns(t, row.PathFault, a, func(t *testing.T, args ...string) result {
				t.Helper()
				res, _ := runClientWith(t, s.a, clientOpts{namespace: clients}, args...)
				t.Logf("%v", res)
				return res
			})
		})
	}
}

// routedAddrs are the addresses of a router row, as its messages name them
// and as its faults' placeholders stand for them.
func routedAddrs(s *sites, name string) (matrix.Addrs, *strings.Replacer) {
	server4, server6 := s.b.host(routedServer)
	client4, client6 := s.a.host(routedClient)
	router4, router6 := s.routerAddrs(s.a)
	loop4, loop6 := s.a.host(routedLoop)
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
func checkNAT(t *testing.T, s *sites, server string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stdout, _, err := containerLogs(ctx, server)
	if !assert.NoError(t, err) {
		return
	}
	b4, b6 := s.routerAddrs(s.b)
	c4, c6 := s.a.host(routedClient)
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
