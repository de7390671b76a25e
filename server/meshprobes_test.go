package server

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// TestMeshPeersGreetingsCountedNotLogged: with CountMeshProbes, a mesh
// peer's greeting is counted and not logged, unless it failed, which is
// logged as any failure is; any other peer is logged as without -mesh.
func TestMeshPeersGreetingsCountedNotLogged(t *testing.T) {
	peer := netip.MustParseAddr("10.0.0.2")
	cases := []struct {
		name      string
		from      string
		err       error
		wantLog   string // "" for no line
		wantCount uint64
	}{
		{"peer's probe", "10.0.0.2", nil, "", 1},
		{"peer's probe over IPv4-mapped IPv6", "::ffff:10.0.0.2", nil, "", 1},
		{"peer's probe that failed", "10.0.0.2", errors.New("broken pipe"), `WARN greeting failed peer=10.0.0.2 port=40000 written=0 err="broken pipe"`, 1},
		{"any other client", "10.0.0.3", nil, "INFO Connection received from 10.0.0.3 (10.0.0.3)", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out smiletest.Buffer
			var co core
			co.init(Options{}, NewLogger(&out, "text"))
			co.meshNode, co.isMeshPeer = "n1", func(a netip.Addr) bool { return a.Unmap() == peer }
			co.logGreeting(time.Now(), netip.AddrPortFrom(netip.MustParseAddr(c.from), 40000), 0, c.err)
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if c.wantLog == "" {
				assert.Empty(t, out.String())
			} else if assert.Len(t, lines, 1) {
				_, rest, _ := strings.Cut(lines[0], " ") // the time
				assert.Equal(t, c.wantLog, rest)
			}
			assert.Equal(t, c.wantCount, co.counters.meshProbes.n.Load())
		})
	}
}
