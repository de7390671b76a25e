package mesh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/smile-sockets/smile/client"
	"github.com/smile-sockets/smile/internal/netaddr"
)

// ParseSpec parses -mesh: a comma-separated list of HOST or HOST:PORT,
// where HOST is a name (every A and AAAA record is a peer address) or an
// IP literal ([IPv6]:PORT with a port). A missing port is defaultPort,
// the server's own first listener port, since the nodes of a mesh listen
// alike.
func ParseSpec(spec string, defaultPort int) ([]netaddr.HostPort, error) {
	var out []netaddr.HostPort
	for _, s := range strings.Split(spec, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		hp, err := netaddr.ParseTarget([]string{s}, "", defaultPort)
		if err != nil {
			return nil, fmt.Errorf("bad -mesh %q: %w", spec, err)
		}
		out = append(out, hp)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bad -mesh %q: want a name or a list of HOST:PORT", spec)
	}
	return out, nil
}

// discover resolves every entry of the spec to peer addresses. An entry
// that fails does not hide the others: the addresses found are returned
// with an error naming each entry that failed.
func discover(ctx context.Context, res *net.Resolver, entries []netaddr.HostPort) ([]netip.AddrPort, error) {
	var found []netip.AddrPort
	var errs []string
	for _, e := range entries {
		if e.Kind != netaddr.Name {
			found = append(found, netip.AddrPortFrom(e.Addr.Unmap(), uint16(e.Port)))
			continue
		}
		addrs, err := res.LookupNetIP(ctx, "ip", e.Text)
		if err != nil {
			errs = append(errs, client.ResolveError(e.Text, err))
			continue
		}
		for _, a := range netaddr.Unique(addrs) {
			found = append(found, netip.AddrPortFrom(a.Unmap(), uint16(e.Port)))
		}
	}
	slices.SortFunc(found, func(a, b netip.AddrPort) int { return a.Compare(b) })
	found = slices.Compact(found)
	if len(errs) > 0 {
		return found, errors.New(strings.Join(errs, "; "))
	}
	return found, nil
}

// peerSet is every peer address discovery listed within the grace period:
// a peer that vanishes from DNS (a node drained, a pod rescheduled) is
// dropped after grace rather than reported failing for ever, and one
// lookup that failed does not empty the mesh.
type peerSet struct {
	grace time.Duration
	own   map[netip.AddrPort]bool
	seen  map[netip.AddrPort]time.Time // last listed
	// refused counts the new addresses the last update left out, the set
	// being full (maxPeerSet).
	refused int
}

// maxPeerSet bounds the peer set, whatever DNS answers: a name whose
// answers rotate through thousands of addresses would otherwise grow it
// by an answer's worth each lookup until -mesh-grace. 4096 addresses are
// 2,048 dual-stack hosts, more than a matrix can show.
const maxPeerSet = 4096

func newPeerSet(grace time.Duration, own []netip.AddrPort) *peerSet {
	ps := &peerSet{grace: grace, own: map[netip.AddrPort]bool{}, seen: map[netip.AddrPort]time.Time{}}
	for _, a := range own {
		ps.own[a] = true
	}
	return ps
}

// update records the addresses found now and returns the peer set, sorted,
// and the addresses dropped for being unlisted longer than grace.
func (ps *peerSet) update(now time.Time, found []netip.AddrPort) (peers, dropped []netip.AddrPort) {
	ps.refused = 0
	for _, a := range found {
		_, known := ps.seen[a]
		switch {
		case ps.own[a]:
		case known || len(ps.seen) < maxPeerSet:
			ps.seen[a] = now
		default:
			ps.refused++
		}
	}
	for a, t := range ps.seen {
		if now.Sub(t) > ps.grace {
			delete(ps.seen, a)
			dropped = append(dropped, a)
			continue
		}
		peers = append(peers, a)
	}
	slices.SortFunc(peers, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return peers, dropped
}

// OwnAddresses is what a server with greeting listeners bound to bound
// calls its own: skip holds every address+port a peer list may name this
// server by (its own probes are skipped), announce the ones worth telling
// peers about (no loopback or link-local for a wildcard listener), so that
// they attribute the addresses to this node. A wildcard listener stands
// for every interface address (0.0.0.0 for the IPv4 ones).
func OwnAddresses(bound []netip.AddrPort, ifaddrs []netip.Addr) (skip, announce []netip.AddrPort) {
	for _, b := range bound {
		a := b.Addr().Unmap()
		if !a.IsUnspecified() {
			ap := netip.AddrPortFrom(a.WithZone(""), b.Port())
			skip = append(skip, ap)
			announce = append(announce, ap)
			continue
		}
		for _, ia := range ifaddrs {
			ia = ia.Unmap()
			if a.Is4() && !ia.Is4() {
				continue
			}
			ap := netip.AddrPortFrom(ia.WithZone(""), b.Port())
			skip = append(skip, ap)
			if !ia.IsLoopback() && !ia.IsLinkLocalUnicast() {
				announce = append(announce, ap)
			}
		}
	}
	sortUnique := func(s []netip.AddrPort) []netip.AddrPort {
		slices.SortFunc(s, func(a, b netip.AddrPort) int { return a.Compare(b) })
		return slices.Compact(s)
	}
	return sortUnique(skip), sortUnique(announce)
}

// InterfaceAddrs lists the host's interface addresses, for OwnAddresses.
func InterfaceAddrs() []netip.Addr {
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, ia := range ifs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out
}
