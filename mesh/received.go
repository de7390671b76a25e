package mesh

import (
	"context"
	"net/netip"
)

// peerIPs is the set of the peer set's IP addresses, replaced whole each
// round, so that the greeting server asks IsPeer of every connection
// without taking the mesh's lock.
type peerIPs map[netip.Addr]struct{}

// setPeers makes peers' addresses the set IsPeer answers from.
func (m *Mesh) setPeers(peers []netip.AddrPort) {
	set := make(peerIPs, len(peers))
	for _, a := range peers {
		set[a.Addr().Unmap()] = struct{}{}
	}
	m.peerIPs.Store(&set)
}

// IsPeer reports ip as the address of a peer in the current peer set: a
// connection from it is most likely that peer's probe. The server counts
// those rather than log them (smile_mesh_probes_received_total): a line and
// a reverse lookup per probe received would be most of a node's log and
// say nothing a reader needs; the probes' outcomes are in the peers' rows.
func (m *Mesh) IsPeer(ip netip.Addr) bool {
	set := m.peerIPs.Load()
	if set == nil {
		return false
	}
	_, ok := (*set)[ip.Unmap()]
	return ok
}

// seedPeers looks the peers up once before the first round, so that the
// probes of peers that started earlier are known as theirs from the
// start rather than from this node's first round on.
func (m *Mesh) seedPeers(ctx context.Context) {
	lctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	defer cancel()
	found, _ := discover(lctx, m.o.Resolver, m.o.Entries)
	m.setPeers(found)
}
