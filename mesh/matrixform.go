package mesh

import (
	"cmp"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// Matrix is every row the serving node could gather, as /matrix.json
// serves it (schema_version 2) and the page draws it: a column per
// destination address, and a row per source host with a class code per
// column and the full cells only of those that fail (or just changed).
// Its own row comes first, then each peer's by host, a stale row for each
// peer that did not answer with a row, saying why. An ok cell costs a
// byte, so 1,000 hosts make megabytes, not the hundreds of megabytes of a
// cell object each.
type Matrix struct {
	SchemaVersion int         `json:"schema_version"` // 2
	Type          string      `json:"type"`           // "mesh_matrix"
	Node          string      `json:"node"`           // the node that assembled it
	TimeUnixMS    float64     `json:"time_unix_ms"`
	AssembleMS    float64     `json:"assemble_ms"` // how long fetching the rows took
	Classes       []string    `json:"classes"`     // a code is an index into these (codeDigits)
	Columns       []Column    `json:"columns"`     // sorted by host, then address
	Rows          []MatrixRow `json:"rows"`
}

// Column is one destination address of the matrix, with the host that
// announces it (else the address itself).
type Column struct {
	Host    string `json:"host"`
	Address string `json:"address"`
	Family  string `json:"family"`
}

// MatrixRow is one source host's row: a code per column of the matrix
// ('.': no cell), and the full cells of those not ok, each destination
// named by the node that announces the address.
type MatrixRow struct {
	Host        string       `json:"host"`
	Stale       bool         `json:"stale"`
	Error       string       `json:"error,omitempty"` // why the row is stale
	Addresses   []string     `json:"addresses"`
	Round       uint64       `json:"round"`
	RoundUnixMS float64      `json:"round_unix_ms,omitempty"` // when the row's last round ended, as its node said: a node whose rounds stopped keeps serving a row, which shows its age
	Peers       int          `json:"peers"`
	Discovery   *Discovery   `json:"discovery,omitempty"` // absent on a stale row
	Codes       string       `json:"codes"`
	Cells       []ColumnCell `json:"cells"`
}

// staleHost is a peer host none of whose addresses gave a row, and why.
type staleHost struct {
	host  string
	err   string
	addrs []netip.AddrPort
}

// buildMatrix puts the rows together: own first, then the other rows and
// the stale hosts by host. The addresses of the rows' columns, in the
// gathering's table, become the matrix's columns, named by the hosts this
// node knows announce them. It returns the matrix's head (Rows empty) and
// its rows, which the encoder makes one at a time (matrixRows), so that
// they are never all held beside their encoding. m.mu is held.
func (m *Mesh) buildMatrix(t *gatherTable, own *Row, rows []*Row, stale []staleHost) (*Matrix, *matrixRows) {
	mat := &Matrix{SchemaVersion: 2, Type: "mesh_matrix", Node: m.o.Node, Columns: []Column{}, Rows: []MatrixRow{}}
	type col struct {
		addr netip.AddrPort
		host string
	}
	all := append([]*Row{own}, rows...)
	// The table's addresses that the rows kept name, each parsed once:
	// a row not believed may have added others.
	used := make([]bool, len(t.addrs))
	for _, r := range all {
		r.grid.each(func(_ int, e int32) { used[e] = true })
	}
	entry := make([]netip.AddrPort, len(t.addrs))
	seen := map[netip.AddrPort]bool{}
	var cols []col
	for i, s := range t.addrs {
		a, ok := addrOf(s)
		if !used[i] || !ok {
			continue
		}
		entry[i] = a
		if !seen[a] {
			seen[a] = true
			cols = append(cols, col{a, m.hostName(a)})
		}
	}
	slices.SortFunc(cols, func(a, b col) int {
		return cmp.Or(strings.Compare(a.host, b.host), a.addr.Compare(b.addr))
	})
	byAddr := make(map[netip.AddrPort]int, len(cols))
	for i, c := range cols {
		byAddr[c.addr] = i
		mat.Columns = append(mat.Columns, Column{Host: c.host, Address: c.addr.String(), Family: familyOf(c.addr)})
	}
	mr := &matrixRows{columns: mat.Columns, column: make([]int32, len(t.addrs)), stale: len(stale),
		none: strings.Repeat(string(noCode), len(cols)), codes: make([]byte, len(cols))}
	for i, a := range entry {
		mr.column[i] = -1
		if j, ok := byAddr[a]; ok && a.IsValid() {
			mr.column[i] = int32(j)
		}
	}
	mr.order = make([]matrixSource, 0, len(all)+len(stale))
	for _, r := range all {
		mr.order = append(mr.order, matrixSource{host: r.Node, row: r})
	}
	for i := range stale {
		mr.order = append(mr.order, matrixSource{host: stale[i].host, stale: &stale[i]})
	}
	slices.SortStableFunc(mr.order[1:], func(a, b matrixSource) int { return cmp.Compare(a.host, b.host) })
	mat.Classes = slices.Clone(t.book.classes)
	return mat, mr
}

// matrixRows are a matrix's rows as a gathering kept them, in the
// matrix's order, each made into a MatrixRow only as it is encoded.
type matrixRows struct {
	order   []matrixSource
	columns []Column
	column  []int32 // the matrix's column of each table entry; -1: none
	stale   int     // how many of the rows are stale
	none    string  // the codes of a row without cells
	codes   []byte  // the row being made's codes
}

// matrixSource is one row of the matrix: a row kept, or a stale host.
type matrixSource struct {
	host  string
	row   *Row
	stale *staleHost
}

// len is how many rows the matrix has.
func (x *matrixRows) len() int { return len(x.order) }

// row makes the matrix's row i: its codes written straight into their
// columns, a byte a cell, and its full cells named by column.
func (x *matrixRows) row(i int) MatrixRow {
	src := x.order[i]
	if s := src.stale; s != nil {
		mr := MatrixRow{Host: s.host, Stale: true, Error: s.err, Addresses: []string{}, Codes: x.none, Cells: []ColumnCell{}}
		for _, a := range s.addrs {
			mr.Addresses = append(mr.Addresses, a.String())
		}
		return mr
	}
	r, g := src.row, src.row.grid
	copy(x.codes, x.none)
	g.each(func(i int, e int32) {
		if j := x.column[e]; j >= 0 && g.codes[i] != noCode {
			x.codes[j] = g.codes[i]
		}
	})
	d := r.Discovery
	mr := MatrixRow{Host: r.Node, Addresses: r.Addresses, Round: r.Round, RoundUnixMS: r.RoundUnixMS,
		Peers: r.Peers, Discovery: &d, Codes: string(x.codes), Cells: make([]ColumnCell, 0, len(g.cells))}
	if mr.Addresses == nil {
		mr.Addresses = []string{}
	}
	for _, c := range g.cells {
		if e := g.entry(c.Column); e >= 0 && x.column[e] >= 0 {
			j := x.column[e]
			c.Column, c.Host, c.Address = int(j), x.columns[j].Host, x.columns[j].Address
			mr.Cells = append(mr.Cells, c)
		}
	}
	return mr
}

// hostName is the host an address of a row belongs to, as this node
// knows (hostOf), this node for its own. m.mu is held.
func (m *Mesh) hostName(a netip.AddrPort) string {
	if name := m.hostOf(a); name != a.String() {
		return name
	}
	if slices.Contains(m.o.Announce, a) {
		return m.o.Node
	}
	return a.String()
}

// acceptsGzip says whether the request's Accept-Encoding takes gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			return strings.ReplaceAll(params, " ", "") != "q=0"
		}
	}
	return false
}

// Cells is a row's cells, one per column that has one: the full cell
// where the row carries it, else the column and the class its code names
// (an ok cell, without latency or times). A reader of /matrix.json that
// wants cell objects back does the same with the JSON.
func (m *Matrix) Cells(r *MatrixRow) []Cell {
	full := make(map[int]Cell, len(r.Cells))
	for _, c := range r.Cells {
		full[c.Column] = c.Cell
	}
	var out []Cell
	for i := range min(len(r.Codes), len(m.Columns)) {
		if c, ok := full[i]; ok {
			out = append(out, c)
			continue
		}
		k := strings.IndexByte(codeDigits, r.Codes[i])
		if k < 0 || k >= len(m.Classes) {
			continue
		}
		col := m.Columns[i]
		c := Cell{Host: col.Host, Address: col.Address, Family: col.Family, OK: m.Classes[k] == okClass}
		if !c.OK {
			c.Class = m.Classes[k]
		}
		out = append(out, c)
	}
	return out
}
