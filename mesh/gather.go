package mesh

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smile-sockets/smile/internal/latency"
)

// Bounds on gathering the rows: peers fetched at once, and the bytes of
// rows one gathering holds.
const (
	fetchConcurrency = 32
	// matrixBudget bounds the bytes of rows one gathering holds: room for
	// the page's hundreds of hosts, never the memory of a cluster of
	// thousands, whose N² cells no page could show anyway.
	matrixBudget = 256 << 20
)

// fetched is one peer host's answer.
type fetched struct {
	key   string // the node's name when known, else its address
	row   *Row
	err   error
	addrs []netip.AddrPort
}

// assemble fetches every peer host's row: the addresses of one known node
// in turn until one answers, the hosts in parallel, each fetch bounded in
// time and size.
func (m *Mesh) assemble(ctx context.Context) *Matrix {
	start := time.Now()
	own := m.Row()
	m.mu.Lock()
	peers := slices.Clone(m.peers)
	groups := map[string][]netip.AddrPort{}
	for _, a := range peers {
		key := m.hostOf(a)
		groups[key] = append(groups[key], a)
	}
	m.mu.Unlock()

	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	results := make([]fetched, len(keys))
	var budget atomic.Int64
	budget.Store(matrixBudget)
	m.fetchEach(ctx, len(keys), func(i int) {
		r := fetched{key: keys[i], addrs: groups[keys[i]]}
		for _, a := range r.addrs {
			if budget.Load() <= 0 {
				r.err = fmt.Errorf("not fetched: the matrix already holds %d MiB of rows", matrixBudget>>20)
				break
			}
			var size int
			r.row, size, r.err = m.fetchRow(ctx, a, true)
			budget.Add(-int64(size))
			if r.err == nil {
				break
			}
		}
		results[i] = r
	})

	m.mu.Lock()
	for _, r := range results {
		if r.row != nil {
			m.learn(r.row)
		}
	}
	mat := &Matrix{SchemaVersion: 1, Type: "mesh_matrix", Node: m.o.Node}
	seen := map[string]bool{own.Node: true}
	mat.Rows = append(mat.Rows, m.matrixRow(&own))
	for _, r := range results {
		if r.row != nil && !seen[r.row.Node] {
			seen[r.row.Node] = true
			mat.Rows = append(mat.Rows, m.matrixRow(r.row))
		}
	}
	// A host is stale when none of its addresses gave a row: one that
	// answered on another address (the other family) is not.
	for _, r := range results {
		if r.row != nil {
			continue
		}
		host := m.hostOf(r.addrs[0]) // a name learnt meanwhile
		if seen[host] {
			continue
		}
		seen[host] = true
		row := MatrixRow{Host: host, Stale: true, Error: r.err.Error(), Addresses: []string{}, Cells: []Cell{}}
		for _, a := range r.addrs {
			row.Addresses = append(row.Addresses, a.String())
		}
		mat.Rows = append(mat.Rows, row)
	}
	m.mu.Unlock()
	slices.SortFunc(mat.Rows[1:], func(a, b MatrixRow) int { return cmp.Compare(a.Host, b.Host) })
	mat.TimeUnixMS = unixMS(time.Now())
	mat.AssembleMS = latency.MS(time.Since(start))
	return mat
}

// matrixRow is a row with each destination named by its announcing node,
// as this node knows them; m.mu is held.
func (m *Mesh) matrixRow(r *Row) MatrixRow {
	mr := MatrixRow{Host: r.Node, Addresses: r.Addresses, Round: r.Round, Peers: r.Peers, Discovery: &r.Discovery,
		Cells: make([]Cell, 0, len(r.Destinations))}
	if mr.Addresses == nil {
		mr.Addresses = []string{}
	}
	for _, c := range r.Destinations {
		if a, err := netip.ParseAddrPort(c.Address); err == nil {
			if name, ok := m.owners[a]; ok {
				c.Host = name
			} else if slices.Contains(m.o.Announce, a) {
				c.Host = m.o.Node
			}
		}
		mr.Cells = append(mr.Cells, c)
	}
	return mr
}

// learn attributes the addresses a row announces to its node, for those
// in the peer set (the owner map stays bounded by it); m.mu is held.
func (m *Mesh) learn(r *Row) {
	for _, s := range r.Addresses {
		a, err := netip.ParseAddrPort(s)
		if err != nil {
			continue
		}
		a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
		if _, found := slices.BinarySearchFunc(m.peers, a, func(x, t netip.AddrPort) int { return x.Compare(t) }); found {
			m.owners[a] = r.Node
		}
	}
}

// learnOwners fetches the row of each address among probed that no node
// has announced yet, so that this node's own row and metrics name hosts
// even when nobody opens the page. Each address is fetched until some row
// announces it: a cost per new peer, not per round. An address that gave
// no row (a plain smile-server listed by -mesh, a peer without -http) is
// tried again only after noRowRetry rounds.
func (m *Mesh) learnOwners(ctx context.Context, probed []netip.AddrPort, round uint64) {
	if m.o.HTTPPort == 0 {
		return
	}
	m.mu.Lock()
	var unknown []netip.AddrPort
	for _, a := range probed {
		if _, ok := m.owners[a]; ok {
			continue
		}
		if c := m.cells[a]; c != nil && c.class == "" && (c.noRowRound == 0 || round >= c.noRowRound+noRowRetry) {
			unknown = append(unknown, a)
		}
	}
	m.mu.Unlock()
	rows := make([]*Row, len(unknown))
	m.fetchEach(ctx, len(unknown), func(i int) {
		m.mu.Lock()
		_, known := m.owners[unknown[i]] // announced by a row fetched meanwhile
		m.mu.Unlock()
		if !known {
			rows[i], _, _ = m.fetchRow(ctx, unknown[i], false)
		}
	})
	m.mu.Lock()
	for i, r := range rows {
		if r != nil {
			m.learn(r)
		} else if c := m.cells[unknown[i]]; c != nil {
			c.noRowRound = round
		}
	}
	m.mu.Unlock()
}

// noRowRetry is how many rounds pass before an address that served no
// row is asked again.
const noRowRetry = 10

// fetchEach runs f(0..n-1), fetchConcurrency at a time.
func (m *Mesh) fetchEach(ctx context.Context, n int, f func(i int)) {
	sem := make(chan struct{}, fetchConcurrency)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{} // once ctx is done, each f fails at once
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}
