package integration

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smile-sockets/smile/internal/smiletest/matrix"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
)

// clientArgs are the client's arguments for each column of the addressing
// table of docs/matrices.md (matrix.AddressingColumns), given the server's
// addresses and network alias.
var clientArgs = map[string]func(v4, v6 netip.Addr, alias string) []string{
	"dotted IPv4":  func(v4, _ netip.Addr, _ string) []string { return []string{v4.String(), port} },
	"hostname":     func(_, _ netip.Addr, alias string) []string { return []string{alias, port} },
	"hostname -4":  func(_, _ netip.Addr, alias string) []string { return []string{"-4", alias, port} },
	"hostname -6":  func(_, _ netip.Addr, alias string) []string { return []string{"-6", alias, port} },
	"IPv6 literal": func(_, v6 netip.Addr, _ string) []string { return []string{v6.String(), port} },
}

// serverArgs fills the server's own addresses into a row's arguments.
func serverArgs(row matrix.AddressingRow, v4, v6 netip.Addr) []string {
	r := strings.NewReplacer("{v4}", v4.String(), "{v6}", v6.String())
	var args []string
	for _, a := range row.Args {
		args = append(args, r.Replace(a))
	}
	return args
}

// refusedWithin bounds how long a refused probe may take: a refusal is a
// reset from the server's kernel, not a timeout (the client's is 5s).
const refusedWithin = 3 * time.Second

// TestAddressing runs every cell of the addressing table: for each row a
// server container bound as the row says, for each column a client that
// names the server that way, all on one dual-stack network; over TCP
// (docs/matrices.md), then over UDP (docs/datagrams.md). The clients
// are processes in one host (hostClient); a row's columns run one after
// another, its rows side by side.
func TestAddressing(t *testing.T) {
	t.Parallel()
	requireImages(t)
	nw := newNetwork(t)
	clients, client := clientHost(t, nw)

	var cells struct {
		sync.Mutex
		n map[matrix.Outcome]int
	}
	cells.n = map[matrix.Outcome]int{}
	t.Cleanup(func() { t.Logf("addressing cells: %d ok, %d refused", cells.n[matrix.OK], cells.n[matrix.Refused]) })

	for i, row := range matrix.Addressing {
		t.Run(row.Name, func(t *testing.T) {
			t.Parallel()
			alias := "smile-" + randomHex(3)
			v4, v6 := nw.host(200 + i)
			srv := startServer(t, serverOpts{
				args:    serverArgs(row, v4, v6),
				net:     nw,
				aliases: []string{alias},
				hostNum: 200 + i,
				started: row.Started,
			})
			gotV4, gotV6 := addrs(t, srv, nw)
			require.Equal(t, v4, gotV4, "server's IPv4 address from Inspect")
			require.Equal(t, v6, gotV6, "server's IPv6 address from Inspect")

			for _, proto := range matrix.AddressingProtocols {
				greeted := peersByFamily{}
				for j, col := range matrix.AddressingColumns {
					want := row.Outcomes[j]
					args := clientArgs[col.Name]
					require.NotNil(t, args, "no client arguments for column %q", col.Name)
					t.Run(proto.Name+"/"+col.Name, func(t *testing.T) {
						res := hostClient(t, clients, append(slices.Clone(proto.Flags), args(gotV4, gotV6, alias)...)...)
						cells.Lock()
						cells.n[want]++
						cells.Unlock()
						switch want {
						case matrix.OK:
							assert.Equal(t, 0, res.exit, "%v", res)
							assert.Equal(t, greeting, res.stdout, "%v", res)
							greeted[col.Family]++
						case matrix.Refused:
							assert.Equal(t, 1, res.exit, "%v", res)
							assert.Empty(t, res.stdout, "%v", res)
							assert.Contains(t, res.stderr, "refused", "%v", res)
							assert.Less(t, res.took, refusedWithin, "%v", res)
						}
					})
				}
				assertPeersLogged(t, srv, nw, client, proto.LogLine, greeted)
			}
		})
	}
}

// peersByFamily counts a server's greeted clients by the family they
// connected over: "4", "6", or "" for either.
type peersByFamily map[string]int

// assertPeersLogged checks the server's log lines for the greetings of a
// client host over one protocol (lines beginning with logLine): one line
// per greeting, as many over each family as the
// clients asked for, an IPv4 peer as dotted IPv4 (never ::ffff:) named by
// its reverse-DNS name, which Docker's embedded DNS answers as
// <container>.<network>, an IPv6 peer with its IPv6 address.
func assertPeersLogged(t *testing.T, srv *testcontainers.DockerContainer, nw *testNet, p peer, logLine string, greeted peersByFamily) {
	t.Helper()
	v4Line := logLine + p.name + "." + nw.Name + " (" + p.v4.String() + ")"
	v6Line := regexp.MustCompile(regexp.QuoteMeta(logLine) + `\S+ \(` + regexp.QuoteMeta(p.v6.String()) + `\)`)
	total := greeted["4"] + greeted["6"] + greeted[""]
	count := func(stdout string) (n4, n6, all int) {
		for line := range strings.Lines(stdout) {
			switch {
			case strings.Contains(line, v4Line):
				n4++
			case v6Line.MatchString(line):
				n6++
			}
			if strings.Contains(line, logLine) {
				all++
			}
		}
		return n4, n6, all
	}
	// The reverse lookup may finish after the greeting: poll the log.
	stdout, _ := pollLogs(t, srv, 10*time.Second, func(stdout string) bool {
		_, _, all := count(stdout)
		return all >= total
	})
	n4, n6, all := count(stdout)
	assert.Equal(t, total, all, "a line per greeting (%v):\n%s", greeted, stdout)
	assert.Equal(t, total, n4+n6, "every line names the client host, %q or %s:\n%s", v4Line, v6Line, stdout)
	assert.GreaterOrEqual(t, n4, greeted["4"], "IPv4 greetings (%v):\n%s", greeted, stdout)
	assert.GreaterOrEqual(t, n6, greeted["6"], "IPv6 greetings (%v):\n%s", greeted, stdout)
	assert.NotContains(t, stdout, "::ffff:", "an IPv4 peer must be logged as dotted IPv4")
}
