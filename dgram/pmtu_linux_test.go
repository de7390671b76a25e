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

// pathWithNarrowLink builds client — router — server in namespaces of the
// test's own: the client's link 1,500 bytes, the server's 1,280, so the
// router must refuse a larger don't-fragment datagram. With dropTooBig the
// router's "fragmentation needed" and "packet too big" never leave it: a
// black hole. It returns the client and server namespaces.
func pathWithNarrowLink(t *testing.T, dropTooBig bool) (cli, srv *smiletest.Netns) {
	t.Helper()
	cli, rtr, srv := smiletest.NewNetns(t), smiletest.NewNetns(t), smiletest.NewNetns(t)
	smiletest.Link(t, cli, "c0", 1500, rtr, "r0", 1500)
	smiletest.Link(t, rtr, "r1", 1280, srv, "s0", 1280)
	cli.Run(t, "ip addr add 10.28.1.2/24 dev c0", "ip -6 addr add fd28:1::2/64 dev c0 nodad",
		"ip route add default via 10.28.1.1", "ip -6 route add default via fd28:1::1")
	rtr.Run(t, "ip addr add 10.28.1.1/24 dev r0", "ip -6 addr add fd28:1::1/64 dev r0 nodad",
		"ip addr add 10.28.2.1/24 dev r1", "ip -6 addr add fd28:2::1/64 dev r1 nodad",
		"sysctl -qw net.ipv4.ip_forward=1", "sysctl -qw net.ipv6.conf.all.forwarding=1",
		"sysctl -qw net.ipv4.icmp_ratelimit=0", "sysctl -qw net.ipv6.icmp.ratelimit=0")
	srv.Run(t, "ip addr add 10.28.2.2/24 dev s0", "ip -6 addr add fd28:2::2/64 dev s0 nodad",
		"ip route add default via 10.28.2.1", "ip -6 route add default via fd28:2::1")
	if dropTooBig {
		rtr.Nft(t, `table inet blackhole {
	chain out {
		type filter hook output priority 0;
		icmp type destination-unreachable icmp code frag-needed drop
		icmpv6 type packet-too-big drop
	}
}
`)
	}
	return cli, srv
}

func TestPMTUInNamespaces(t *testing.T) {
	for _, c := range []struct {
		name       string
		dropTooBig bool
	}{{"too-big reported", false}, {"too-big dropped", true}} {
		t.Run(c.name, func(t *testing.T) {
			cli, srv := pathWithNarrowLink(t, c.dropTooBig)
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
