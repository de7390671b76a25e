package server

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// core is what a greeting server needs whatever carries the greeting: the
// greeting and its bound, the log and its fast line, the names of peers,
// the counters, the drain's idle window, and the work in flight that Wait
// waits for. The stream side (tcpState) keeps apart what only connections
// have, so that a datagram side can share this without copying it.
type core struct {
	greeting     []byte
	writeTimeout time.Duration
	log          *slog.Logger
	text         *textHandler // log's handler when it is the text form, for the fast line
	names        *namer       // nil: log addresses only
	meshNode     string       // this node's name in the mesh; "" without -mesh
	isMeshPeer   func(netip.Addr) bool
	drainIdle    time.Duration
	counters     counters // for Stats
	inflight     sync.WaitGroup
}

// init fills in the protocol-neutral part of a Server from Options whose
// defaults are already set.
func (c *core) init(o Options, log *slog.Logger) {
	c.text, _ = log.Handler().(*textHandler)
	c.greeting, c.writeTimeout, c.log, c.drainIdle = o.Greeting, o.WriteTimeout, log, o.DrainIdle
	if o.Resolver != nil {
		c.names = newNamer(o.Resolver, o.ResolveTimeout)
	}
}

// logGreeting logs how a greeting went: a warning when it failed, else
// the tutorial's line with the peer's name, which (off the critical path)
// may come later; a mesh peer's probe is counted, neither logged nor
// named.
func (c *core) logGreeting(at time.Time, peer netip.AddrPort, n int, werr error) {
	c.counters.count(werr)
	if c.isMeshPeer != nil && c.isMeshPeer(peer.Addr()) {
		c.counters.meshProbes.n.Add(1)
		if werr == nil {
			return
		}
	}
	if werr != nil {
		c.log.Warn("greeting failed", "peer", peer.Addr().String(), "port", peer.Port(), "written", n, "err", werr)
		return
	}
	if c.names == nil {
		c.logConn(at, peer, "")
		return
	}
	// A busy server mostly sees peers it has just named: log them here,
	// without a callback, and reuse the greeting's clock reading.
	if name, ok := c.names.cached(peer.Addr(), at); ok {
		c.logConn(at, peer, name)
		return
	}
	c.names.name(peer.Addr(), func(name string) { c.logConn(at, peer, name) })
}

// logConn writes the tutorial's line for one connection; the record keeps
// the time of the greeting even when the name arrives later.
func (c *core) logConn(at time.Time, peer netip.AddrPort, name string) {
	if c.text != nil && peer.Addr().Zone() == "" {
		// The text form formats the line straight into a pooled buffer:
		// no message string, no record, no address string.
		_ = c.text.writeConn(at, peer, name)
		return
	}
	addr := peer.Addr().String()
	if name == "" {
		name = addr
	}
	r := slog.NewRecord(at, slog.LevelInfo, "Connection received from "+name+" ("+addr+")", 0)
	r.AddAttrs(slog.String("peer", addr), slog.Int("port", int(peer.Port())), slog.String("name", name))
	_ = c.log.Handler().Handle(context.Background(), r)
}

// waitNames waits for the reverse lookups in flight, each bounded by the
// resolve timeout.
func (c *core) waitNames() {
	if c.names != nil {
		c.names.wait()
	}
}
