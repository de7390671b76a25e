package mesh

import (
	"hash/fnv"
	"net/netip"
)

// pick is the peers round probes: all of them up to k, else k consecutive
// ones of the sorted peer list, starting where the previous round stopped.
// Successive rounds walk the whole list, so with a stable peer set every
// peer is probed within ceil(n/k) rounds and a round costs O(k), not O(n).
// The walk of each node starts at an offset of its own (from its name), so
// that the nodes of a mesh do not all greet the same k peers at once.
func pick(peers []netip.AddrPort, k int, round uint64, offset uint64) []netip.AddrPort {
	n := len(peers)
	if n <= k {
		return peers
	}
	un := uint64(n)
	start := int((offset%un + (round%un)*uint64(k)%un) % un)
	out := make([]netip.AddrPort, 0, k)
	for i := range k {
		out = append(out, peers[(start+i)%n])
	}
	return out
}

// nodeOffset is the starting point of a node's walk, stable across
// restarts.
func nodeOffset(node string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(node))
	return h.Sum64()
}
