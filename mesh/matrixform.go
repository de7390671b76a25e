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
// the stale hosts by host. Each row's columns become the matrix's, named
// by the hosts this node knows announce them; m.mu is held.
func (m *Mesh) buildMatrix(own *Row, rows []*Row, stale []staleHost) *Matrix {
	mat := &Matrix{SchemaVersion: 2, Type: "mesh_matrix", Node: m.o.Node, Columns: []Column{}}
	type col struct {
		addr netip.AddrPort
		host string
	}
	all := append([]*Row{own}, rows...)
	// Rows name the same addresses in the same spelling: each spelling
	// is parsed once, not once a row.
	canon := map[string]netip.AddrPort{}
	seen := map[netip.AddrPort]bool{}
	var cols []col
	for _, r := range all {
		for _, s := range r.grid.columns {
			if _, done := canon[s]; done {
				continue
			}
			a, ok := addrOf(s)
			if !ok {
				continue
			}
			canon[s] = a
			if !seen[a] {
				seen[a] = true
				cols = append(cols, col{a, m.hostName(a)})
			}
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
	index := make(map[string]int, len(canon))
	for s, a := range canon {
		index[s] = byAddr[a]
	}
	colOf := func(s string) (int, bool) {
		i, ok := index[s]
		return i, ok
	}

	book := newCodeBook()
	none := strings.Repeat(string(noCode), len(cols))
	for _, r := range all {
		codes := []byte(none)
		for i, s := range r.grid.columns {
			if j, ok := colOf(s); ok && r.grid.classes[i] != string(noCode) {
				codes[j] = book.code(r.grid.classes[i])
			}
		}
		d := r.Discovery
		mr := MatrixRow{Host: r.Node, Addresses: r.Addresses, Round: r.Round, RoundUnixMS: r.RoundUnixMS,
			Peers: r.Peers, Discovery: &d, Codes: string(codes), Cells: make([]ColumnCell, 0, len(r.grid.cells))}
		if mr.Addresses == nil {
			mr.Addresses = []string{}
		}
		for _, c := range r.grid.cells {
			if j, ok := colOf(r.grid.columns[c.Column]); ok {
				c.Column, c.Host, c.Address = j, cols[j].host, cols[j].addr.String()
				mr.Cells = append(mr.Cells, c)
			}
		}
		mat.Rows = append(mat.Rows, mr)
	}
	for _, s := range stale {
		mr := MatrixRow{Host: s.host, Stale: true, Error: s.err, Addresses: []string{}, Codes: none, Cells: []ColumnCell{}}
		for _, a := range s.addrs {
			mr.Addresses = append(mr.Addresses, a.String())
		}
		mat.Rows = append(mat.Rows, mr)
	}
	slices.SortFunc(mat.Rows[1:], func(a, b MatrixRow) int { return cmp.Compare(a.Host, b.Host) })
	mat.Classes = book.classes
	return mat
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
