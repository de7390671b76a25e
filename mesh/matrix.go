package mesh

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smile-sockets/smile/internal/dnsname"
	"github.com/smile-sockets/smile/internal/latency"
)

// Matrix is every row the serving node could gather, as /matrix.json
// serves it and the page draws it: its own, each peer's as the peer
// serves it at /mesh.json, and a stale row for each peer that did not
// answer with a row, saying why.
type Matrix struct {
	SchemaVersion int         `json:"schema_version"` // 1
	Type          string      `json:"type"`           // "mesh_matrix"
	Node          string      `json:"node"`           // the node that assembled it
	TimeUnixMS    float64     `json:"time_unix_ms"`
	AssembleMS    float64     `json:"assemble_ms"` // how long fetching the rows took
	Rows          []MatrixRow `json:"rows"`
}

// MatrixRow is one source host's row: the cells of its /mesh.json, each
// destination named by the node that announces the address.
type MatrixRow struct {
	Host      string     `json:"host"`
	Stale     bool       `json:"stale"`
	Error     string     `json:"error,omitempty"` // why the row is stale
	Addresses []string   `json:"addresses"`
	Round     uint64     `json:"round"`
	Peers     int        `json:"peers"`
	Discovery *Discovery `json:"discovery,omitempty"` // absent on a stale row
	Cells     []Cell     `json:"cells"`
}

// Bounds on gathering the rows: peers fetched at once, and the size of
// one row (some 300 bytes a destination: room for 25,000 of them).
const (
	fetchConcurrency = 32
	defaultMaxRow    = 8 << 20
	// matrixBudget bounds the bytes of rows one gathering holds: room for
	// the page's hundreds of hosts, never the memory of a cluster of
	// thousands, whose N² cells no page could show anyway.
	matrixBudget = 256 << 20
)

// matrixCache holds the last matrix, so that a page open in many browsers
// (or a flood of requests) costs one gathering per freshness window, and
// requests arriving during a gathering wait for it rather than start
// another.
type matrixCache struct {
	mu      sync.Mutex
	last    *Matrix
	at      time.Time
	running chan struct{} // closed when the gathering under way ends
}

// fresh is how long a matrix is served again before it is gathered anew.
func (m *Mesh) fresh() time.Duration { return min(m.o.Interval/2, 5*time.Second) }

// Matrix returns the matrix, gathered at most fresh() ago.
func (m *Mesh) Matrix(ctx context.Context) (*Matrix, error) {
	mc := &m.matrix
	for {
		mc.mu.Lock()
		if mc.last != nil && time.Since(mc.at) < m.fresh() {
			mat := mc.last
			mc.mu.Unlock()
			return mat, nil
		}
		if mc.running == nil {
			ch := make(chan struct{})
			mc.running = ch
			go func() {
				// Not the request's context: a browser that goes away does
				// not cancel the gathering the others wait for.
				actx, cancel := context.WithTimeout(context.Background(), 3*m.o.Timeout)
				mat := m.assemble(actx)
				cancel()
				mc.mu.Lock()
				mc.last, mc.at, mc.running = mat, time.Now(), nil
				mc.mu.Unlock()
				close(ch)
			}()
		}
		ch := mc.running
		mc.mu.Unlock()
		select {
		case <-ch:
			mc.mu.Lock()
			mat := mc.last
			mc.mu.Unlock()
			return mat, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

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

// rowClient fetches peers' rows; the transport keeps a connection per
// peer for the next gathering.
var rowClient = &http.Client{Transport: &http.Transport{
	Proxy:                 nil, // peers are reached directly, never through a proxy from the environment
	DialContext:           (&net.Dialer{KeepAlive: -1}).DialContext,
	MaxIdleConnsPerHost:   1,
	IdleConnTimeout:       time.Minute,
	ResponseHeaderTimeout: 0, // the request's context bounds it
	DisableCompression:    true,
}}

// fetchRow gets the row a peer serves at /mesh.json on this node's -http
// port (without its cells unless cells), within -mesh-timeout and maxRow
// bytes, and checks it is one; size is the bytes read.
func (m *Mesh) fetchRow(ctx context.Context, a netip.AddrPort, cells bool) (row *Row, size int, err error) {
	row, body, err := m.fetchRowBody(ctx, a, cells)
	return row, len(body), err
}

func (m *Mesh) fetchRowBody(ctx context.Context, a netip.AddrPort, cells bool) (*Row, []byte, error) {
	url := "http://" + netip.AddrPortFrom(a.Addr(), uint16(m.o.HTTPPort)).String() + "/mesh.json"
	get := url
	if !cells {
		get += "?destinations=none"
	}
	ctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, get, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", url, err)
	}
	resp, err := rowClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("no row from %s: %s", url, fetchReason(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("no row from %s: HTTP %d", url, resp.StatusCode)
	}
	limit := m.maxRow()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, body, fmt.Errorf("no row from %s: %s after %d bytes", url, fetchReason(err), len(body))
	}
	if len(body) > limit {
		return nil, body, fmt.Errorf("bad row from %s: too large: more than %d bytes", url, limit)
	}
	var row Row
	if err := json.Unmarshal(body, &row); err != nil {
		return nil, body, fmt.Errorf("bad row from %s: not JSON: %s", url, oneLine(err.Error()))
	}
	switch {
	case row.SchemaVersion != 1 || row.Type != "mesh_node":
		return nil, body, fmt.Errorf("bad row from %s: schema_version %d, type %q: want 1, \"mesh_node\"", url, row.SchemaVersion, dnsname.Sanitize(row.Type))
	case row.Node == "" || dnsname.Sanitize(row.Node) != row.Node:
		return nil, body, fmt.Errorf("bad row from %s: node name %q is not a host name", url, dnsname.Sanitize(row.Node))
	}
	return &row, body, nil
}

func (m *Mesh) maxRow() int {
	if m.maxRowBytes > 0 {
		return m.maxRowBytes
	}
	return defaultMaxRow
}

// fetchReason is why a fetch failed, in smile-client's words where it has
// them.
func fetchReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(err) {
		err = u
	}
	return oneLine(err.Error())
}

// oneLine keeps a message on one line and short, whatever a peer sent.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
