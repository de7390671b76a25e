package server

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/smile-sockets/smile/internal/dnsname"
)

// Cache lifetimes for reverse lookups. A busy server sees the same peers
// again and again; without a cache every connection would cost a DNS
// query, and a dead DNS server would pile up one waiting lookup per
// connection.
const (
	nameTTL     = 60 * time.Second
	noNameTTL   = 10 * time.Second
	maxLookups  = 64   // distinct lookups in flight at once
	maxCacheLen = 4096 // entries kept; the cache is cleared when full
	// maxWaiting bounds the connections waiting for a name, across every
	// lookup. When a lookup ends its waiters are logged at once, and that
	// burst must fit the log's buffer (logBuffer: 3000 text lines, half as
	// many in JSON) or the log drops lines: at 10k connections a second a
	// dead DNS server queues 20k in its 2 s timeout. Past the bound a peer
	// is logged by its address at once, as a failed lookup would log it.
	maxWaiting = 512
)

// namer resolves peers' PTR names for the log, off the greeting's path:
// lookups for one address are coalesced, results cached for a short TTL,
// and callers never wait: they hand in what to do with the name.
type namer struct {
	resolver *net.Resolver
	timeout  time.Duration

	mu      sync.Mutex
	cache   map[netip.Addr]cacheEntry
	pending map[netip.Addr][]func(string) // one entry per lookup in flight
	waiting int                           // callbacks in pending, at most maxWaiting
	wg      sync.WaitGroup
}

type cacheEntry struct {
	name    string
	expires time.Time
}

func newNamer(r *net.Resolver, timeout time.Duration) *namer {
	return &namer{
		resolver: r,
		timeout:  timeout,
		cache:    map[netip.Addr]cacheEntry{},
		pending:  map[netip.Addr][]func(string){},
	}
}

// cached returns addr's name when the cache holds one that is fresh at
// now, without starting a lookup.
func (n *namer) cached(addr netip.Addr, now time.Time) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.fresh(addr, now)
}

// fresh is cached with n.mu held.
func (n *namer) fresh(addr netip.Addr, now time.Time) (string, bool) {
	c, ok := n.cache[addr]
	if !ok || !now.Before(c.expires) {
		return "", false
	}
	return c.name, true
}

// name calls done with addr's sanitized PTR name, or "" when there is none
// or the lookup failed or took longer than the timeout. done runs in the
// caller's goroutine when the answer is cached, later otherwise.
func (n *namer) name(addr netip.Addr, done func(string)) {
	n.mu.Lock()
	if name, ok := n.fresh(addr, time.Now()); ok {
		n.mu.Unlock()
		done(name)
		return
	}
	waiters, ok := n.pending[addr]
	if n.waiting >= maxWaiting || !ok && len(n.pending) >= maxLookups {
		// So many peers at once that the resolver is the bottleneck:
		// say the address now rather than queue without bound.
		n.mu.Unlock()
		done("")
		return
	}
	n.pending[addr] = append(waiters, done)
	n.waiting++
	if ok {
		n.mu.Unlock()
		return
	}
	n.wg.Add(1)
	n.mu.Unlock()
	go n.lookup(addr)
}

func (n *namer) lookup(addr netip.Addr) {
	defer n.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	names, _ := n.resolver.LookupAddr(ctx, addr.String())
	cancel()
	name := ""
	for _, raw := range names {
		if name = dnsname.Sanitize(raw); name != "" {
			break
		}
	}
	ttl := nameTTL
	if name == "" {
		ttl = noNameTTL
	}
	n.mu.Lock()
	if len(n.cache) >= maxCacheLen {
		clear(n.cache)
	}
	n.cache[addr] = cacheEntry{name: name, expires: time.Now().Add(ttl)}
	waiters := n.pending[addr]
	delete(n.pending, addr)
	n.waiting -= len(waiters)
	n.mu.Unlock()
	for _, w := range waiters {
		w(name)
	}
}

// wait waits for lookups in flight, each bounded by the timeout, so that
// their log lines are written before the server exits.
func (n *namer) wait() { n.wg.Wait() }
