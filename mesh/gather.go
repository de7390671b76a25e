package mesh

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smile-sockets/smile/internal/latency"
)

// Bounds on gathering the rows: peers fetched at once, and the most bytes
// of rows one gathering holds.
const (
	fetchConcurrency = 32
	maxMatrixBudget  = 256 << 20
)

// matrixBudget bounds the bytes of rows one gathering holds, the fetches
// under way and the rows kept: a quarter of the memory limit the process
// runs under (GOMEMLIMIT, which the DaemonSet sets to its own limit), so
// that the previous matrix, its encoding and the one being built fit
// beside it, and never more than 256 MiB, room for the page's thousands
// of hosts but not for the memory of a cluster of tens of thousands.
func matrixBudget() int64 {
	return min(debug.SetMemoryLimit(-1)/4, maxMatrixBudget)
}

// mebibytes says n bytes in MiB, or KiB below one.
func mebibytes(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// rowBudget is a gathering's matrixBudget: each fetch is charged the
// bytes it reads as it reads them and, once its row is read, keeps what
// the row holds instead (a byte a column, and its full cells, of the
// tens of bytes a column read). A fetch that would take the gathering
// past its budget fails at once, never waits: fetches waiting on one
// another could each hold part of the room the others need.
type rowBudget struct {
	total int64
	held  atomic.Int64 // the rows kept and the bytes of those under way
}

// charge takes n bytes of the budget; false, taking nothing, when they
// are not there.
func (b *rowBudget) charge(n int64) bool {
	if b.held.Add(n) > b.total {
		b.held.Add(-n)
		return false
	}
	return true
}

// done gives back a fetch's read bytes and keeps kept for its row; a row
// that keeps more than was read of it (a few bytes of cell each a full
// cell's 200) is charged the difference, and false when that is not
// there: the row is then not kept, and only grew, what the gathering's
// table grew by for it and holds regardless, stays charged.
func (b *rowBudget) done(read, kept, grew int64) bool {
	if kept > read && !b.charge(kept-read) {
		b.held.Add(grew - read)
		return false
	}
	if kept <= read {
		b.held.Add(kept - read)
	}
	return true
}

// errOverBudget is why a fetch stopped: the gathering's rows fill its
// budget.
type errOverBudget int64

func (e errOverBudget) Error() string {
	return fmt.Sprintf("not kept: the gathering already holds the %s of rows it may", mebibytes(int64(e)))
}

// gatherTime bounds one gathering: each fetch has its own -mesh-timeout,
// and one that could not end within a gathering's time is not started.
func (m *Mesh) gatherTime() time.Duration { return 3 * m.o.Timeout }

// gatherMemory is what one gathering leaves the next: how each host fared
// (those that gave a row are fetched first, then those not tried, then
// those that failed, so that peers that answer are not starved by deaf
// ones), and the reason each host's row was last refused for (so that it
// is logged once, not every gathering). Only the gathering under way
// touches it.
type gatherMemory struct {
	fared   map[string]fared
	refused map[string]string
	named   map[netip.AddrPort]string // the name each address's row bore last, believed or not
}

// fared is how a host's fetch went, in the order hosts are fetched.
type fared int

const (
	answered fared = iota
	notTried       // the zero value's place: a host new to the gatherings is tried early
	failed
)

// errNotTried is the reason of a host whose fetch could not have ended
// within the gathering.
var errNotTried = errors.New("not tried: gathering out of time")

// fetched is one peer host's answer.
type fetched struct {
	key   string // the node's name when known, else its address
	row   *Row
	from  netip.AddrPort // the address whose -http port gave row
	err   error
	addrs []netip.AddrPort
}

// assemble fetches every peer host's row: the addresses of one known node
// in turn until one answers, the hosts in parallel, those that answered
// last time first, each fetch bounded in time and size, and a row
// believed only for the address it came from (believe).
func (m *Mesh) assemble(ctx context.Context) (*Matrix, *matrixRows) {
	start := time.Now()
	deadline := start.Add(m.gatherTime())
	table := newGatherTable()
	own := m.ownRow(table)
	m.mu.Lock()
	peers := slices.Clone(m.peers)
	groups := map[string][]netip.AddrPort{}
	for _, a := range peers {
		// Grouped by the row fetched from each address alone: a row's
		// claim to an address fetched elsewhere never stops that address
		// being asked for its own row.
		key, ok := m.owners[a]
		if !ok {
			key = a.String()
		}
		groups[key] = append(groups[key], a)
	}
	cells := m.maxCells()
	lim := rowLimits{bytes: min(m.maxRow(), 4<<10+cells*maxCellBytes), cells: cells, all: true, table: table}
	m.mu.Unlock()

	mem := &m.gathered
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	faredOf := func(k string) fared {
		if f, ok := mem.fared[k]; ok {
			return f
		}
		return notTried
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(faredOf(a), faredOf(b)), cmp.Compare(a, b))
	})
	results := make([]fetched, len(keys))
	// However many fetches run at once, the rows held and read never
	// exceed the budget.
	budget := &rowBudget{total: cmp.Or(m.budgetBytes, matrixBudget())}
	lim.budget = budget
	m.fetchEach(ctx, len(keys), func(i int) {
		r := fetched{key: keys[i], addrs: groups[keys[i]]}
		for _, a := range r.addrs {
			if time.Until(deadline) < m.o.Timeout {
				if r.err == nil {
					r.err = errNotTried
				}
				break
			}
			var size int
			r.row, size, r.err = m.fetchRow(ctx, a, lim)
			kept, grew := 0, 0
			if r.err == nil {
				kept, grew = r.row.keptBytes(), r.row.grid.grew
			}
			if !budget.done(int64(size), int64(kept), int64(grew)) {
				r.row, r.err = nil, errOverBudget(budget.total)
			}
			if errors.As(r.err, new(errOverBudget)) {
				break // another address of the host would not fit either
			}
			if r.err == nil {
				r.from = a
				break
			}
		}
		results[i] = r
	})

	m.mu.Lock()
	results = m.believe(results)
	var rows []*Row
	var stale []staleHost
	seen := map[string]bool{own.Node: true}
	byName := map[string]*Row{own.Node: own} // the believed rows, by name
	fares := map[string]fared{}
	for _, r := range results {
		if r.row == nil {
			continue
		}
		fares[r.key] = answered
		m.own(r.from, r.row)
		if !seen[r.row.Node] { // one node's row from each of its addresses
			seen[r.row.Node] = true
			rows = append(rows, r.row)
			byName[r.row.Node] = r.row
		}
	}
	// A host is stale when none of its addresses gave a row: one that
	// answered on another address (the other family) is not.
	for _, r := range results {
		if r.row != nil {
			continue
		}
		fares[r.key] = failed
		if r.err == errNotTried {
			fares[r.key] = notTried
		}
		host := m.hostOf(r.addrs[0]) // a name learnt meanwhile
		if r.from.IsValid() {
			host = r.from.String() // a row not believed: its name is not either
		}
		if seen[host] {
			if byName[host] == nil || announces(byName[host], r.addrs[0]) {
				continue // that node's row came from its other address
			}
			host = r.addrs[0].String() // another node by that name: one that went away
			if seen[host] {
				continue
			}
		}
		seen[host] = true
		stale = append(stale, staleHost{host: host, err: r.err.Error(), addrs: r.addrs})
	}
	mat, mrows := m.buildMatrix(table, own, rows, stale)
	m.mu.Unlock()
	mem.fared = fares
	mat.TimeUnixMS = unixMS(time.Now())
	mat.AssembleMS = latency.MS(time.Since(start))
	return mat, mrows
}

// maxCellBytes bounds a cell's share of a row's bytes: a cell is some 300
// bytes, its error message at most 200 of them.
const maxCellBytes = 1 << 10

// maxCells is the most cells a peer's row can hold: a cell per address of
// the peer set and of this node, with room for peer sets that differ
// while DNS answers do. m.mu is held.
func (m *Mesh) maxCells() int {
	n := len(m.peers) + len(m.o.Skip)
	return n + n/4 + 16
}

// believe checks each fetched row against where it came from and against
// the others: a row is believed only for the address it was fetched from,
// so it must announce that address, must not bear this node's name, must
// bear the name it bore last time when the address has a node (a peer
// answering a new name each time would churn every series named by it), must
// not announce an address of this node or the address another row came
// from, and must not share its name with a row from elsewhere that does
// not announce the same addresses (two nodes named alike). A row that
// fails is dropped, its host shown stale with the reason, logged once.
// The addresses of a host that its row does not announce are fetched on
// their own from the next gathering on, and shown stale until then; they
// are returned as results of their own. m.mu is held.
func (m *Mesh) believe(results []fetched) []fetched {
	reasons := make([]string, len(results))
	for i, r := range results {
		if r.row == nil {
			continue
		}
		switch {
		case r.row.Node == m.o.Node:
			reasons[i] = fmt.Sprintf("row from %s bears this node's name, %s%s", r.from, m.o.Node, m.sharedIP(r.from))
		case m.owners[r.from] != "" && m.owners[r.from] != r.row.Node && m.gathered.named[r.from] != r.row.Node:
			reasons[i] = fmt.Sprintf("row from %s names node %s, which was %s: a new name is believed once it stays", r.from, r.row.Node, m.owners[r.from])
		case !announces(r.row, r.from):
			reasons[i] = fmt.Sprintf("node %s does not announce %s, the address its row came from%s", r.row.Node, r.from, m.sharedIP(r.from))
		default:
			for _, own := range m.o.Skip {
				if announces(r.row, own) {
					reasons[i] = fmt.Sprintf("node %s announces %s, an address of this node", r.row.Node, own)
					break
				}
			}
		}
	}
	byName := map[string][]int{}
	from := map[netip.AddrPort]int{}
	for i, r := range results {
		if r.row != nil && reasons[i] == "" {
			byName[r.row.Node] = append(byName[r.row.Node], i)
			from[r.from] = i
		}
	}
	against := make([]string, len(results))
	for i, r := range results {
		if r.row == nil || reasons[i] != "" {
			continue
		}
		for _, j := range byName[r.row.Node] {
			// Two nodes by one name: the one whose address already had
			// the name keeps it, so a newcomer copying a node's name
			// cannot make that node's row stale; otherwise neither does.
			mine, theirs := m.owners[r.from] == r.row.Node, m.owners[results[j].from] == r.row.Node
			if j != i && !(announces(r.row, results[j].from) && announces(results[j].row, r.from)) && (!mine || theirs) {
				against[i] = fmt.Sprintf("node name %s is also the name of the row from %s", r.row.Node, results[j].from)
			}
		}
		for _, s := range r.row.Addresses {
			a, err := netip.ParseAddrPort(s)
			if err != nil {
				continue
			}
			if j, ok := from[unzoned(a)]; ok && results[j].row.Node != r.row.Node {
				against[i] = fmt.Sprintf("node %s announces %s, the address of node %s", r.row.Node, unzoned(a), results[j].row.Node)
			}
		}
	}
	refused := map[string]string{}
	named := map[netip.AddrPort]string{}
	for _, r := range results {
		if r.row != nil {
			named[r.from] = r.row.Node
		}
	}
	var more []fetched
	for i := range results {
		r := &results[i]
		why := cmp.Or(reasons[i], against[i])
		if r.row == nil {
			continue
		}
		if why != "" {
			r.row, r.err = nil, errors.New(why)
			refused[r.from.String()] = why
			if _, was := m.gathered.refused[r.from.String()]; !was { // once while it lasts, however its reason changes
				m.log.Warn("mesh row not believed", "address", r.from.String(), "why", why)
			}
			continue
		}
		for _, a := range r.addrs {
			if a != r.from && !announces(r.row, a) {
				delete(m.owners, a)
				more = append(more, fetched{key: a.String(), addrs: []netip.AddrPort{a},
					err: fmt.Errorf("no row yet: node %s, whose row came from %s, does not announce it", r.row.Node, r.from)})
			}
		}
	}
	m.gathered.refused, m.gathered.named = refused, named
	return append(results, more...)
}

// own records a believed row fetched from a: a is its node's, and so, as
// a claim that a's own row overrides, is every address of the peer set
// it announces. m.mu is held.
func (m *Mesh) own(a netip.AddrPort, r *Row) {
	if !m.inPeers(a) {
		return // dropped meanwhile: the maps stay bounded by the peer set
	}
	m.owners[a] = r.Node
	for _, s := range r.Addresses {
		if b, err := netip.ParseAddrPort(s); err == nil && m.inPeers(unzoned(b)) {
			m.claims[unzoned(b)] = r.Node
		}
	}
}

// mayBe reports whether address a may be node name's: the name is no
// other address's yet, or the row of the node that has it announces a (a
// dual-stack node's other family). A newcomer copying a node's name does
// not get it. m.mu is held.
func (m *Mesh) mayBe(a netip.AddrPort, name string) bool {
	if m.claims[a] == name {
		return true
	}
	for b, n := range m.owners {
		if n == name && b != a {
			return false
		}
	}
	return true
}

// sharedIP says, for a row fetched from an address on one of this node's
// own IPs, why that goes wrong: nodes on one IP share the -http port this
// node fetches every peer's row from, so only one of them can serve it.
func (m *Mesh) sharedIP(a netip.AddrPort) string {
	for _, own := range m.o.Skip {
		if own.Addr() == a.Addr() {
			return fmt.Sprintf(" (nodes sharing IP %s: rows are fetched from this node's -http port, %d, which only one of them can serve)", a.Addr(), m.o.HTTPPort)
		}
	}
	return ""
}

// announces reports a among the addresses r announces.
func announces(r *Row, a netip.AddrPort) bool {
	a = unzoned(a)
	for _, s := range r.Addresses {
		if b, err := netip.ParseAddrPort(s); err == nil && unzoned(b) == a {
			return true
		}
	}
	return false
}

// unzoned is a as rows announce it: IPv4 unmapped, no zone.
func unzoned(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap().WithZone(""), a.Port())
}

// learnOwners fetches the row of each address among probed that no node
// has announced yet, so that this node's own row and metrics name hosts
// even when nobody opens the page. Each address is fetched until its row
// is believed (it announces the address, and does not bear this node's
// name): a cost per new peer, not per round. An address that gave no such
// row (a plain smile-server listed by -mesh, a peer without -http) is
// tried again only after noRowRetry rounds. Only the row's head is read.
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
	lim := rowLimits{bytes: min(maxOwnersRow, m.maxRow())}
	m.fetchEach(ctx, len(unknown), func(i int) {
		m.mu.Lock()
		_, known := m.owners[unknown[i]] // learnt by a gathering meanwhile
		m.mu.Unlock()
		if !known {
			rows[i], _, _ = m.fetchRow(ctx, unknown[i], lim)
		}
	})
	m.mu.Lock()
	for i, r := range rows {
		a := unknown[i]
		if r != nil && r.Node != m.o.Node && announces(r, a) && m.mayBe(a, r.Node) {
			m.own(a, r)
		} else if c := m.cells[a]; c != nil {
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
