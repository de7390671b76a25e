package integration

import (
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
)

// outcome is the expected result of one client probe.
type outcome string

const (
	ok      outcome = "ok"      // exit 0, the greeting on stdout
	refused outcome = "refused" // exit 1, the refused class on stderr, quickly
)

// column is one way a client names the server.
type column struct {
	name string
	// args returns the client's arguments for a server with these addresses
	// and network alias.
	args func(v4, v6 netip.Addr, alias string) []string
	// family is the address family the connection must use, or "" when the
	// resolver may choose (a hostname without -4/-6).
	family string
}

// columns are the columns of the README's addressing table.
var columns = []column{
	{"dotted IPv4", func(v4, _ netip.Addr, _ string) []string { return []string{v4.String(), port} }, "4"},
	{"hostname", func(_, _ netip.Addr, alias string) []string { return []string{alias, port} }, ""},
	{"hostname -4", func(_, _ netip.Addr, alias string) []string { return []string{"-4", alias, port} }, "4"},
	{"hostname -6", func(_, _ netip.Addr, alias string) []string { return []string{"-6", alias, port} }, "6"},
	{"IPv6 literal", func(_, v6 netip.Addr, _ string) []string { return []string{v6.String(), port} }, "6"},
}

// addressingRow is one row of the README's addressing table: how the server
// listens, and the outcome for each column.
type addressingRow struct {
	name string
	// args returns the server's arguments given its fixed addresses.
	args     func(v4, v6 netip.Addr) []string
	started  int // "SERVER started" lines: one per listener
	outcomes [5]outcome
}

var addressingRows = []addressingRow{
	{":7890 (default, dual-stack)", func(_, _ netip.Addr) []string { return nil }, 1,
		[5]outcome{ok, ok, ok, ok, ok}},
	{"0.0.0.0:7890", func(_, _ netip.Addr) []string { return []string{"-listen", "0.0.0.0:7890"} }, 1,
		[5]outcome{ok, ok, ok, refused, refused}},
	{"[::]:7890 with -v6only", func(_, _ netip.Addr) []string { return []string{"-listen", "[::]:7890", "-v6only"} }, 1,
		[5]outcome{refused, ok, refused, ok, ok}},
	{"0.0.0.0:7890 + [::]:7890 -v6only", func(_, _ netip.Addr) []string {
		return []string{"-listen", "0.0.0.0:7890", "-listen", "[::]:7890", "-v6only"}
	}, 2,
		[5]outcome{ok, ok, ok, ok, ok}},
	{"its own IPv4 address", func(v4, _ netip.Addr) []string { return []string{"-listen", v4.String() + ":7890"} }, 1,
		[5]outcome{ok, ok, ok, refused, refused}},
	{"its own IPv6 address", func(_, v6 netip.Addr) []string { return []string{"-listen", "[" + v6.String() + "]:7890"} }, 1,
		[5]outcome{refused, ok, refused, ok, ok}},
	{"localhost:7890", func(_, _ netip.Addr) []string { return []string{"-listen", "localhost:7890"} }, 1,
		[5]outcome{refused, refused, refused, refused, refused}},
}

// refusedWithin bounds how long a refused probe may take: a refusal is a
// reset from the server's kernel, not a timeout (the client's is 5s).
const refusedWithin = 3 * time.Second

// TestAddressing runs every cell of the addressing table: for each row a
// server container bound as the row says, for each column a client container
// that names the server that way, all on one dual-stack network.
func TestAddressing(t *testing.T) {
	t.Parallel()
	requireImages(t)
	nw := newNetwork(t)

	var cells struct {
		sync.Mutex
		n map[outcome]int
	}
	cells.n = map[outcome]int{}
	t.Cleanup(func() { t.Logf("addressing cells: %d ok, %d refused", cells.n[ok], cells.n[refused]) })

	for i, row := range addressingRows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			alias := "smile-" + randomHex(3)
			v4, v6 := nw.host(200 + i)
			srv := startServer(t, serverOpts{
				args:    row.args(v4, v6),
				net:     nw,
				aliases: []string{alias},
				hostNum: 200 + i,
				started: row.started,
			})
			gotV4, gotV6 := addrs(t, srv, nw)
			require.Equal(t, v4, gotV4, "server's IPv4 address from Inspect")
			require.Equal(t, v6, gotV6, "server's IPv6 address from Inspect")

			for j, col := range columns {
				want := row.outcomes[j]
				t.Run(col.name, func(t *testing.T) {
					t.Parallel()
					res, client := runClient(t, nw, col.args(gotV4, gotV6, alias)...)
					cells.Lock()
					cells.n[want]++
					cells.Unlock()
					switch want {
					case ok:
						assert.Equal(t, 0, res.exit, "%v", res)
						assert.Equal(t, greeting, res.stdout, "%v", res)
						assertPeerLogged(t, srv, nw, client, col.family)
					case refused:
						assert.Equal(t, 1, res.exit, "%v", res)
						assert.Empty(t, res.stdout, "%v", res)
						assert.Contains(t, res.stderr, "refused", "%v", res)
						assert.Less(t, res.took, refusedWithin, "%v", res)
					}
				})
			}
		})
	}
}

// assertPeerLogged checks the server's log line for a client: an IPv4 peer
// as dotted IPv4 (never ::ffff:) named by its reverse-DNS name, which
// Docker's embedded DNS answers as <container>.<network>; an IPv6 peer with
// its IPv6 address. family "" accepts either.
func assertPeerLogged(t *testing.T, srv *testcontainers.DockerContainer, nw *testNet, p peer, family string) {
	t.Helper()
	v4Line := "Connection received from " + p.name + "." + nw.Name + " (" + p.v4.String() + ")"
	v6Line := regexp.MustCompile(`Connection received from \S+ \(` + regexp.QuoteMeta(p.v6.String()) + `\)`)
	var stdout string
	// The reverse lookup may finish after the greeting: poll the log.
	found := assert.Eventually(t, func() bool {
		stdout, _ = logs(t, srv)
		has4, has6 := strings.Contains(stdout, v4Line), v6Line.MatchString(stdout)
		switch family {
		case "4":
			return has4
		case "6":
			return has6
		default:
			return has4 || has6
		}
	}, 10*time.Second, 200*time.Millisecond, "server log has no line for %s over IPv%s (want %q or %s)", p.name, family, v4Line, v6Line)
	if !found {
		t.Logf("server log:\n%s", stdout)
	}
	assert.NotContains(t, stdout, "::ffff:", "an IPv4 peer must be logged as dotted IPv4")
}
