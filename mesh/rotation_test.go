package mesh

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

func addrs(n int) []netip.AddrPort {
	out := make([]netip.AddrPort, n)
	for i := range out {
		out[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 7890)
	}
	return out
}

// TestPickCoversEveryPeer: from any round on, ceil(n/k) rounds probe
// every peer, each round at most k of them.
func TestPickCoversEveryPeer(t *testing.T) {
	cases := []struct{ n, k int }{{0, 100}, {1, 100}, {100, 100}, {101, 100}, {250, 100}, {1000, 100}, {5000, 100}, {7, 3}, {1000, 1}}
	for _, c := range cases {
		for _, node := range []string{"a", "node-17"} {
			t.Run(fmt.Sprintf("n=%d k=%d %s", c.n, c.k, node), func(t *testing.T) {
				peers := addrs(c.n)
				rounds := (c.n + c.k - 1) / c.k
				for _, first := range []uint64{0, 1, 12345} {
					seen := map[netip.AddrPort]bool{}
					for r := first; r < first+uint64(rounds); r++ {
						got := pick(peers, c.k, r, nodeOffset(node))
						assert.LessOrEqual(t, len(got), c.k)
						for _, a := range got {
							seen[a] = true
						}
					}
					assert.Len(t, seen, c.n, "from round %d", first)
				}
			})
		}
	}
}

// TestPickSpreadsNodes: two nodes do not walk the peers in step.
func TestPickSpreadsNodes(t *testing.T) {
	peers := addrs(1000)
	assert.NotEqual(t, pick(peers, 100, 0, nodeOffset("node-1")), pick(peers, 100, 0, nodeOffset("node-2")))
}
