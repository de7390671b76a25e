package mesh

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// TestDatagramsAcrossANarrowRouter: a node's datagrams to a server behind
// a router whose far link is 1,280 bytes (smiletest.NarrowPath, in network
// namespaces of the test's own) make a cell of path MTU 1280 below the
// interface's 1500, the router named as its reporter (or, with its too-big
// messages dropped, a black hole), 1 hop, no loss; such a cell travels in
// full though ok. The mesh's own measuring runs on the client side's
// thread, so that its sockets are the namespace's.
func TestDatagramsAcrossANarrowRouter(t *testing.T) {
	for _, c := range []struct {
		name       string
		dropTooBig bool
	}{{"too-big reported", false}, {"too-big dropped", true}} {
		t.Run(c.name, func(t *testing.T) {
			cli, _, srv := smiletest.NarrowPath(t, c.dropTooBig)
			for _, f := range []struct{ network, listen, dst, hop string }{
				{"udp4", "10.28.2.2:7890", "10.28.2.2:7890", "10.28.1.1"},
				{"udp6", "[fd28:2::2]:7890", "[fd28:2::2]:7890", "fd28:1::1"},
			} {
				t.Run(f.network, func(t *testing.T) {
					srv.Do(t, func() { smiletest.UDPResponder(t, f.network, f.listen, "Smile from the server", false) })
					m, err := New(Options{Interval: 10 * time.Second, Timeout: time.Second, MaxPeers: 1, Grace: time.Minute, Node: "n"},
						slog.New(slog.NewTextHandler(io.Discard, nil)))
					require.NoError(t, err)
					a := netip.MustParseAddrPort(f.dst)
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					var r udpResult
					cli.Do(t, func() {
						// A fresh namespace's first IPv6 datagrams wait on
						// neighbour discovery, some past the timeout: a round
						// before the one measured, as a running node has had.
						for range 5 {
							if w := m.sendDatagrams(ctx, a); w.received == w.sent {
								break
							}
							t.Logf("warming %s up: loss", a)
						}
						r = m.sendDatagrams(ctx, a)
						p, err := m.searchPMTU(ctx, a)
						r.pmtu, r.pmtuErr = &p, err
					})
					ce := &cell{addr: a}
					ce.record(time.Now(), 1, "", "", time.Millisecond, familyOf(a))
					ce.recordUDP(r, 1)
					j := ce.json("server")
					require.NotNil(t, j.LossRatio)
					assert.Equal(t, 0.0, *j.LossRatio)
					require.NotNil(t, j.Hops)
					assert.Equal(t, 1, *j.Hops, "the router")
					assert.Empty(t, j.PMTUError)
					assert.Equal(t, 1280, j.PathMTU)
					assert.Equal(t, 1500, j.InterfaceMTU)
					if c.dropTooBig {
						assert.True(t, j.BlackHole)
						assert.Empty(t, j.PMTUReportedBy, "no ICMP left the router")
					} else {
						assert.False(t, j.BlackHole)
						assert.Equal(t, f.hop, j.PMTUReportedBy)
					}
					assert.True(t, ce.datagramsNotable(), "a narrower path travels in full though ok")
				})
			}
		})
	}
}
