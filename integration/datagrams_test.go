package integration

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"

	"github.com/smile-sockets/smile/internal/smiletest/matrix"
)

// datagramReadTimeout is the clients' -read-timeout where an answer may
// never come: the answers of these rows cross in well under a millisecond.
const datagramReadTimeout = "1500ms"

// TestDatagramsMultiHomed runs docs/datagrams.md's multi-homed table: a
// host with a second IPv4 and IPv6 address on its link (netfault addr),
// smile-server on its port and the naive wildcard responder of package
// naiveudp on the next (netfault answer-naive), and a client in another
// container whose connected socket sends to one address: smile-server
// answers from it, the naive responder from the host's first address,
// which the client's kernel drops.
func TestDatagramsMultiHomed(t *testing.T) {
	t.Parallel()
	requireImages(t)
	requireNetfault(t)
	nw := newNetwork(t)
	const hostNum, secondNum = 200, 201
	first4, _ := nw.host(hostNum)
	second4, second6 := nw.host(secondNum)
	clients, _ := clientHost(t, nw)
	host := runAll(t, (&sites{}).holder(t, "host", nw, hostNum, nil, nil, []string{
		"addr", netip.PrefixFrom(second4, nw.v4.Bits()).String(), netip.PrefixFrom(second6, nw.v6.Bits()).String(),
		"+", "answer-naive", "-port", "7891"}))[0]
	startServer(t, serverOpts{args: []string{"-resolve=false"}, holder: host.GetContainerID(), started: 1})

	to := map[string]netip.Addr{"first IPv4": first4, "second IPv4": second4, "second IPv6": second6}
	ports := map[string]string{matrix.SmileServer: port, matrix.NaiveResponder: "7891"}
	for _, row := range matrix.MultiHomed {
		t.Run(row.Answerer+" "+row.To, func(t *testing.T) {
			dst, ok := to[row.To]
			require.True(t, ok, "no address for %q", row.To)
			res := hostClient(t, clients, "-udp", "-read-timeout", datagramReadTimeout, dst.String(), ports[row.Answerer])
			t.Logf("%v", res)
			switch row.Outcome {
			case matrix.OK:
				assert.Equal(t, 0, res.exit, "%v", res)
				assert.Equal(t, greeting, res.stdout, "%v", res)
			case matrix.Timeout:
				assert.Equal(t, 1, res.exit, "%v", res)
				assert.Empty(t, res.stdout, "%v", res)
				assert.Equal(t, fmt.Sprintf("smile-client: no answer over UDP from %s: timeout: nothing came back within 1.5s (-read-timeout)\n",
					netip.AddrPortFrom(dst, 7891)), res.stderr, "%v", res)
			}
		})
	}
}

// TestDatagramsRouter runs docs/datagrams.md's table of datagrams across a
// router, then its loss table for containers: one topology (sites, the
// servers' behind a 1,280-byte link), the router's faults set and
// cleared row by row with netfault, the clients one after another: the
// loss rows measure the path, and other clients' datagrams would share
// it.
func TestDatagramsRouter(t *testing.T) {
	t.Parallel()
	requireImages(t)
	requireNetfault(t)
	start := time.Now()
	s := newSites(t)
	const serverNum, clientNum, bridgeNum = 100, 10, 11
	server4, server6 := s.b.host(serverNum)
	far4, _ := s.routerAddrs(s.b)
	near4, near6 := s.routerAddrs(s.a)
	ctrs := runAll(t,
		s.router(t, "mtu", "-to", "1280", far4.String()),
		s.host(t, s.b, serverNum, hostOpts{faults: []string{"mtu", "-to", "1280", server4.String()}}),
		s.host(t, s.a, clientNum, hostOpts{}),
		s.holder(t, "host", s.b, bridgeNum, nil, nil, nil))
	router, clients, bridge := ctrs[0].GetContainerID(), ctrs[2].GetContainerID(), ctrs[3].GetContainerID()
	srv := startServer(t, serverOpts{args: []string{"-resolve=false"}, holder: ctrs[1].GetContainerID(), started: 1})
	t.Logf("topology up in %v", time.Since(start).Round(time.Millisecond))

	for _, row := range matrix.DatagramRouter {
		t.Run(row.Case, func(t *testing.T) {
			netfault(t, router, "clear")
			if len(row.Netfault) > 0 {
				netfault(t, router, row.Netfault...)
			}
			before, _ := logs(t, srv)
			host := clients
			if row.OnBridge {
				host = bridge
			}
			for _, fam := range []struct{ server, router netip.Addr }{{server4, near4}, {server6, near6}} {
				args := make([]string, len(row.Args))
				for i, a := range row.Args {
					args[i] = matrix.Render(a, fam.server.String(), fam.router.String())
				}
				res := hostClient(t, host, args...)
				t.Logf("$ smile-client %s\n%s%s(exit %d, %v)", strings.Join(args, " "), res.stdout, res.stderr, res.exit, res.took.Round(time.Millisecond))
				assert.Equal(t, row.Exit, res.exit, "%v", res)
				for _, p := range row.Prints {
					assert.Contains(t, res.stdout+res.stderr, matrix.Render(p, fam.server.String(), fam.router.String()), "%v", res)
				}
			}
			if row.NAT {
				checkDatagramNAT(t, s, srv, before)
			}
		})
	}
	t.Run("loss", func(t *testing.T) {
		for _, r := range matrix.LossRows {
			netfault(t, router, "clear")
			netfault(t, router, "lose", "-percent", strconv.Itoa(r.Percent))
			res := hostClient(t, clients, "-udp", "-json", "-count", strconv.Itoa(r.Count), "-read-timeout", "1s", server4.String(), port)
			require.Equal(t, 0, res.exit, "%v", res)
			var got struct {
				Sent, Received, Duplicates int
				LossRatio                  float64 `json:"loss_ratio"`
			}
			require.NoError(t, json.Unmarshal([]byte(res.stdout), &got), "%v", res)
			p := float64(r.Percent) / 100
			tol := matrix.LossTolerance(p, r.Count)
			t.Logf("FIGURES loss set %d%%, %d sent, %d received: reported %.4f (tolerance ±%.3f), duplicates %d, in %v",
				r.Percent, got.Sent, got.Received, got.LossRatio, tol, got.Duplicates, res.took.Round(time.Millisecond))
			assert.Equal(t, r.Count, got.Sent)
			assert.InDelta(t, p, got.LossRatio, tol, "loss set %d%%", r.Percent)
			assert.Zero(t, got.Duplicates)
		}
	})
	t.Logf("datagrams across a router: %d rows and %d loss rates in %v", len(matrix.DatagramRouter), len(matrix.LossRows),
		time.Since(start).Round(time.Millisecond))
}

// checkDatagramNAT asserts that the server logged the datagrams of a row,
// what its log gained since before, as coming from the router's address
// in its own site, never from the client's.
func checkDatagramNAT(t *testing.T, s *sites, srv *testcontainers.DockerContainer, before string) {
	t.Helper()
	b4, b6 := s.routerAddrs(s.b)
	stdout, _ := pollLogs(t, srv, 10*time.Second, func(stdout string) bool {
		return strings.Count(strings.TrimPrefix(stdout, before), "Datagram received from ") >= 2
	})
	var peers []string
	for line := range strings.Lines(strings.TrimPrefix(stdout, before)) {
		if _, from, ok := strings.Cut(line, "Datagram received from "); ok {
			peers = append(peers, strings.TrimSpace(from))
		}
	}
	assert.ElementsMatch(t, []string{b4.String() + " (" + b4.String() + ")", b6.String() + " (" + b6.String() + ")"}, peers,
		"one datagram per family, each logged with the router's address:\n%s", stdout)
}
