package mesh

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/smile-sockets/smile/client"
	"github.com/smile-sockets/smile/internal/dnsname"
)

// CompactRow is this node's row as a gathering asks for it,
// /mesh.json?form=compact: a one-character class code per destination
// address, and full cells only for those that fail or changed outcome in
// the last round, or whose datagrams were lost or met a narrower path MTU
// (udp.go). An ok cell costs a byte and its address, not the 300
// bytes of a Cell, so a row of 1,000 peers stays tens of kilobytes.
type CompactRow struct {
	RowHead
	Form    string       `json:"form"`    // "compact"
	Classes []string     `json:"classes"` // a code is an index into these (codeDigits)
	Columns []string     `json:"columns"` // the destination addresses, sorted
	Codes   string       `json:"codes"`   // a code per column
	Cells   []ColumnCell `json:"cells"`   // the cells that fail or just changed
}

// ColumnCell is a full cell of a compact row or of the matrix, with the
// index of its column there.
type ColumnCell struct {
	Column int `json:"column"`
	Cell
}

// codeDigits write a class's index in the class list as one character;
// noCode is a column without a cell (not probed, no data).
const (
	codeDigits = "0123456789abcdefghijklmnopqrstuvwxyz"
	noCode     = '.'
	okClass    = "ok"
)

// Classes is the class list of the compact forms: "ok", then every
// failure class in smile-client's order (client.Classes), so that a
// class's code is the same in every node's row of the same version.
func Classes() []string { return append([]string{okClass}, client.Classes()...) }

// codeBook gives each class its code: the known ones by Classes, a class
// it does not know (from a peer of another version) the next free code,
// and past the last code the code of "error".
type codeBook struct {
	classes []string
	index   map[string]byte
}

func newCodeBook() *codeBook {
	b := &codeBook{index: map[string]byte{}}
	for _, c := range Classes() {
		b.code(c)
	}
	return b
}

// code is class's code; "" is ok.
func (b *codeBook) code(class string) byte {
	if class == "" {
		class = okClass
	}
	if c, ok := b.index[class]; ok {
		return c
	}
	if len(b.classes) == len(codeDigits) {
		return b.index["error"]
	}
	c := codeDigits[len(b.classes)]
	b.classes = append(b.classes, class)
	b.index[class] = c
	return c
}

// compactRow is this node's row in the compact form.
func (m *Mesh) compactRow() CompactRow {
	m.mu.Lock()
	defer m.mu.Unlock()
	cs := make([]*cell, 0, len(m.cells))
	for _, c := range m.cells {
		if c.round > 0 {
			cs = append(cs, c)
		}
	}
	slices.SortFunc(cs, func(a, b *cell) int { return a.addr.Compare(b.addr) })
	book := newCodeBook()
	r := CompactRow{RowHead: m.rowHead(), Form: "compact", Columns: make([]string, len(cs)), Cells: []ColumnCell{}}
	codes := make([]byte, len(cs))
	for i, c := range cs {
		r.Columns[i] = c.addr.String()
		codes[i] = book.code(c.class)
		// Changed in the round under way, or the last one completed (a
		// first outcome is no change: state.go record); an ok cell whose
		// datagrams were lost or met a narrower MTU too.
		if c.class != "" || (c.changed > 0 && c.changed >= m.round) || c.datagramsNotable() {
			r.Cells = append(r.Cells, ColumnCell{Column: i, Cell: c.json(m.hostOf(c.addr))})
		}
	}
	r.Codes, r.Classes = string(codes), book.classes
	return r
}

// compactFields are the fields of a compact row, as read from a peer.
type compactFields struct {
	Form    string       `json:"form"`
	Classes []string     `json:"classes"`
	Columns []string     `json:"columns"`
	Codes   string       `json:"codes"`
	Cells   []ColumnCell `json:"cells"`
}

// field is where the compact field named key decodes to; nil for another
// field.
func (w *compactFields) field(key string) any {
	switch key {
	case "form":
		return &w.Form
	case "classes":
		return &w.Classes
	case "columns":
		return &w.Columns
	case "codes":
		return &w.Codes
	case "cells":
		return &w.Cells
	}
	return nil
}

// decode reads the compact field key into f, its lists (classes,
// columns, cells) an element at a time and no longer than a row may hold
// (decodeList); the codes string is bounded by the row's bytes.
func (w *compactFields) decode(dec *json.Decoder, key string, f any, maxCells int) (err error) {
	switch key {
	case "classes":
		w.Classes, err = decodeList[string](dec, key, len(codeDigits), notRow(fmt.Sprintf("compact row: more than %d classes, more than its codes", len(codeDigits))))
	case "columns":
		w.Columns, err = decodeList[string](dec, key, maxCells, errRowTooManyCells)
	case "cells":
		w.Cells, err = decodeList[ColumnCell](dec, key, maxCells, errRowTooManyCells)
	default:
		err = dec.Decode(f)
	}
	return err
}

// gatherTable is what the rows of one gathering share: every destination
// address, each spelling once, and the matrix's class list. A row keeps
// an index into it a column and a code a cell, not a string each: a
// thousand rows of a thousand columns are a megabyte of codes, where
// strings were tens of megabytes. Fetches run at once: mu guards it.
type gatherTable struct {
	mu    sync.Mutex
	addrs []string // by index: an address as the rows spell it
	index map[string]int32
	book  *codeBook
	words map[string]string // the full cells' words, each kept once
}

func newGatherTable() *gatherTable {
	return &gatherTable{index: map[string]int32{}, book: newCodeBook(), words: map[string]string{}}
}

// tableEntryBytes is what an address adds to the table beside its
// spelling: its string header, its index and the map's share.
const tableEntryBytes = 64

// span is a run of a row's columns whose addresses follow one another in
// the table: rows list the same addresses in the same order, so that a
// row is a few spans however many columns it has.
type span struct{ first, n int32 }

// rowGrid is a peer's cells as a gathering keeps them, whichever form the
// peer served: its columns as spans of the gathering's table, a code a
// column from the table's class list (noCode: no cell), and the full
// cells only of those not ok (or just changed), their host and address
// left to the matrix's column.
type rowGrid struct {
	spans []span
	codes []byte
	cells []ColumnCell // Column indexes the row's columns
	kept  int          // the bytes it holds, and those the table grew by for it
	grew  int          // of kept, those the table grew by: held whether the row is kept or not
}

// columns interns a row's column addresses: the spans of the table they
// make, and the bytes the table grew by.
func (t *gatherTable) columns(cols []string) (spans []span, grew int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range cols {
		i, ok := t.index[s]
		if !ok {
			i = int32(len(t.addrs))
			t.addrs = append(t.addrs, s)
			t.index[s] = i
			grew += len(s) + tableEntryBytes
		}
		if n := len(spans); n > 0 && spans[n-1].first+spans[n-1].n == i {
			spans[n-1].n++
		} else {
			spans = append(spans, span{i, 1})
		}
	}
	return slices.Clip(spans), grew
}

// code is class's code in the matrix ("" is ok).
func (t *gatherTable) code(class string) byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.book.code(class)
}

// each calls f with each column of g's and its index in the table.
func (g *rowGrid) each(f func(col int, entry int32)) {
	col := 0
	for _, s := range g.spans {
		for k := range s.n {
			f(col, s.first+k)
			col++
		}
	}
}

// entry is the table index of column col of g's; -1 past its columns
// (grid checks that no cell's column is).
func (g *rowGrid) entry(col int) int32 {
	for _, s := range g.spans {
		if col < int(s.n) {
			return s.first + int32(col)
		}
		col -= int(s.n)
	}
	return -1
}

// keep makes g of a row's columns and codes, and its full cells, whose
// host and address the matrix names by column, and counts what it holds.
// The cells are copied into a slice of their own length, their words
// (family, class, the same error of every row towards one down host)
// kept once a gathering.
func (t *gatherTable) keep(cols []string, codes []byte, cells []ColumnCell) *rowGrid {
	g := &rowGrid{codes: codes}
	g.spans, g.grew = t.columns(cols)
	g.kept = g.grew
	g.kept += len(codes) + len(g.spans)*int(unsafe.Sizeof(span{}))
	if len(cells) == 0 {
		return g
	}
	g.cells = slices.Clone(cells)
	g.kept += len(cells) * int(unsafe.Sizeof(cells[0]))
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range g.cells {
		c := &g.cells[i].Cell
		c.Host, c.Address = "", ""
		for _, w := range []*string{&c.Family, &c.Class, &c.Error, &c.PMTUReportedBy, &c.PMTUError} {
			kept, grew := t.word(w)
			g.kept += kept
			g.grew += grew
		}
	}
	return g
}

// maxWords bounds the words a gathering keeps once: past it, a row's
// words are its own.
const maxWords = 1 << 16

// word points *w at the table's copy of its word, and says what keeping
// it costs beyond the table's own, and of that what the table grew by.
// t.mu is held.
func (t *gatherTable) word(w *string) (kept, grew int) {
	if *w == "" {
		return 0, 0
	}
	if k, ok := t.words[*w]; ok {
		*w = k
		return 0, 0
	}
	if len(t.words) < maxWords {
		t.words[*w] = *w
		return len(*w) + tableEntryBytes, len(*w) + tableEntryBytes
	}
	return len(*w), 0
}

// keptBytes is what a row read for a gathering holds: its grid, with the
// table's growth for it, and its head.
func (r *Row) keptBytes() int {
	n := int(unsafe.Sizeof(*r)) + r.grid.kept + len(r.Node) + len(r.Type) + len(r.Discovery.Error)
	for _, a := range r.Addresses {
		n += len(a) + int(unsafe.Sizeof(a))
	}
	return n
}

// gridOf keeps of a full row's cells what a gathering needs.
func (t *gatherTable) gridOf(cells []Cell) *rowGrid {
	cols, codes := make([]string, len(cells)), make([]byte, len(cells))
	var full []ColumnCell
	for i, c := range cells {
		cols[i] = c.Address
		class := okClass
		if !c.OK {
			class = cmp.Or(short(oneLine(c.Class)), "error") // as a compact row's (grid)
		}
		codes[i] = t.code(class)
		if !c.OK || c.datagramsNotable() {
			full = append(full, ColumnCell{Column: i, Cell: c})
		}
	}
	return t.keep(cols, codes, full)
}

// grid checks a compact row's fields, at most maxCells columns, and keeps
// what a gathering needs of them in t.
func (w *compactFields) grid(maxCells int, t *gatherTable) (*rowGrid, error) {
	switch {
	case w.Form != "compact":
		return nil, notRow(fmt.Sprintf("form %q: want \"compact\" or none", short(dnsname.Sanitize(w.Form))))
	case len(w.Columns) > maxCells || len(w.Cells) > maxCells:
		return nil, errRowTooManyCells
	case len(w.Codes) != len(w.Columns):
		return nil, notRow(fmt.Sprintf("compact row: %d codes for %d columns", len(w.Codes), len(w.Columns)))
	case len(w.Classes) > len(codeDigits):
		return nil, notRow(fmt.Sprintf("compact row: %d classes, more than %d codes", len(w.Classes), len(codeDigits)))
	}
	for i := range len(w.Codes) {
		if k := strings.IndexByte(codeDigits, w.Codes[i]); w.Codes[i] != noCode && (k < 0 || k >= len(w.Classes)) {
			return nil, notRow(fmt.Sprintf("compact row: code %q of column %d names no class of %d", dnsname.Sanitize(w.Codes[i:i+1]), i, len(w.Classes)))
		}
	}
	// Each address a column, each column at most a cell, and a cell of
	// the class its column's code says: a row that says two things of one
	// destination is not believed for either.
	first := make(map[string]int, len(w.Columns))
	for i, a := range w.Columns {
		if j, ok := first[a]; ok {
			return nil, notRow(fmt.Sprintf("compact row: column %d repeats column %d's address", i, j))
		}
		first[a] = i
	}
	celled := make([]bool, len(w.Columns))
	for _, c := range w.Cells {
		switch {
		case c.Column < 0 || c.Column >= len(w.Columns):
			return nil, notRow(fmt.Sprintf("compact row: a cell of column %d, of %d", c.Column, len(w.Columns)))
		case celled[c.Column]:
			return nil, notRow(fmt.Sprintf("compact row: two cells of column %d", c.Column))
		case w.Codes[c.Column] == noCode || w.Classes[strings.IndexByte(codeDigits, w.Codes[c.Column])] != cmp.Or(c.Class, okClass):
			return nil, notRow(fmt.Sprintf("compact row: the cell of column %d is not of the class its code names", c.Column))
		}
		celled[c.Column] = true
	}
	// The row's codes, in the matrix's class list: only the classes some
	// code uses, so that a row listing classes it never uses does not
	// take the codes of classes honest rows bring.
	var used [len(codeDigits)]bool
	for i := range len(w.Codes) {
		if w.Codes[i] != noCode {
			used[strings.IndexByte(codeDigits, w.Codes[i])] = true
		}
	}
	var mapped [len(codeDigits)]byte
	for k, class := range w.Classes {
		if !used[k] {
			continue
		}
		if class != okClass {
			class = cmp.Or(short(oneLine(class)), "error") // a failure, whatever it is called
		}
		mapped[k] = t.code(class)
	}
	codes := []byte(w.Codes)
	for i, c := range codes {
		if c != noCode {
			codes[i] = mapped[strings.IndexByte(codeDigits, c)]
		}
	}
	return t.keep(w.Columns, codes, w.Cells), nil
}

// ownRow is this node's own row as a gathering keeps a peer's.
func (m *Mesh) ownRow(t *gatherTable) *Row {
	own := m.compactRow()
	w := compactFields{Form: own.Form, Classes: own.Classes, Columns: own.Columns, Codes: own.Codes, Cells: own.Cells}
	g, err := w.grid(len(own.Columns), t)
	if err != nil { // made by compactRow: it does not happen
		m.log.Warn("this node's own row is not a row", "err", err)
		g = &rowGrid{}
	}
	own.RowHead.Mesh = ""
	return &Row{RowHead: own.RowHead, grid: g}
}

// addrOf parses a column's address, unmapped, as peers are kept.
func addrOf(s string) (netip.AddrPort, bool) {
	a, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()), true
}
