package integration

import (
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smile-sockets/smile/internal/matrix"
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
// server container bound as the row says, for each column a client container
// that names the server that way, all on one dual-stack network.
func TestAddressing(t *testing.T) {
	t.Parallel()
	requireImages(t)
	nw := newNetwork(t)

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

			for j, col := range matrix.AddressingColumns {
				want := row.Outcomes[j]
				args := clientArgs[col.Name]
				require.NotNil(t, args, "no client arguments for column %q", col.Name)
				t.Run(col.Name, func(t *testing.T) {
					t.Parallel()
					res, client := runClient(t, nw, args(gotV4, gotV6, alias)...)
					cells.Lock()
					cells.n[want]++
					cells.Unlock()
					switch want {
					case matrix.OK:
						assert.Equal(t, 0, res.exit, "%v", res)
						assert.Equal(t, greeting, res.stdout, "%v", res)
						assertPeerLogged(t, srv, nw, client, col.Family)
					case matrix.Refused:
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
	// The reverse lookup may finish after the greeting: poll the log.
	stdout, found := pollLogs(t, srv, 10*time.Second, func(stdout string) bool {
		has4, has6 := strings.Contains(stdout, v4Line), v6Line.MatchString(stdout)
		switch family {
		case "4":
			return has4
		case "6":
			return has6
		default:
			return has4 || has6
		}
	})
	assert.True(t, found, "server log has no line for %s over IPv%s (want %q or %s):\n%s", p.name, family, v4Line, v6Line, stdout)
	assert.NotContains(t, stdout, "::ffff:", "an IPv4 peer must be logged as dotted IPv4")
}
