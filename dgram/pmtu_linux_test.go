package dgram_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/dgram"

	"github.com/smile-sockets/smile/internal/smiletest"
)

func TestPMTUInNamespaces(t *testing.T) {
	for _, c := range []struct {
		name       string
		dropTooBig bool
	}{{"too-big reported", false}, {"too-big dropped", true}} {
		t.Run(c.name, func(t *testing.T) {
			cli, _, srv := smiletest.NarrowPath(t, c.dropTooBig)
			for _, f := range []struct {
				network, listen, dst, hop string
				sizes                     int // the minimum, the interface's MTU, the MTU reported unless it is the minimum
			}{
				{"udp4", "10.28.2.2:7890", "10.28.2.2:7890", "10.28.1.1", 3},
				{"udp6", "[fd28:2::2]:7890", "[fd28:2::2]:7890", "fd28:1::1", 2},
			} {
				t.Run(f.network, func(t *testing.T) {
					srv.Do(t, func() { responder(t, f.network, f.listen, "Smile from the server", false) })
					var conn *dgram.Conn
					cli.Do(t, func() { conn = dial(t, netip.MustParseAddrPort(f.dst)) })
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					res, err := dgram.FindPMTU(ctx, conn, dgram.PMTUOptions{})
					require.NoError(t, err)
					assert.Equal(t, 1280, res.PathMTU)
					assert.Equal(t, 1500, res.InterfaceMTU)
					if c.dropTooBig {
						assert.True(t, res.BlackHole)
						assert.Equal(t, 1281, res.LostSize)
						assert.False(t, res.ReportedBy.IsValid(), "no ICMP left the router")
					} else {
						assert.False(t, res.BlackHole)
						assert.Equal(t, netip.MustParseAddr(f.hop), res.ReportedBy)
						assert.Equal(t, 1280, res.ReportedMTU)
						assert.Equal(t, f.sizes, res.Sizes)
					}
				})
			}
		})
	}
}
