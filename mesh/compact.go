package mesh

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

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

// rowGrid is a peer's cells as a gathering keeps them, whichever form the
// peer served: a class per destination address, and the full cells only
// of those not ok (or just changed), so that a thousand rows of a
// thousand ok cells hold a class string each rather than a Cell.
type rowGrid struct {
	columns []string     // destination addresses
	classes []string     // per column: "" ok, noCode none, else the failure class
	cells   []ColumnCell // Column indexes columns
}

// gridOf keeps of a full row's cells what a gathering needs.
func gridOf(cells []Cell) *rowGrid {
	g := &rowGrid{columns: make([]string, len(cells)), classes: make([]string, len(cells))}
	for i, c := range cells {
		g.columns[i] = c.Address
		if !c.OK {
			g.classes[i] = cmp.Or(c.Class, "error")
		}
		if !c.OK || c.datagramsNotable() {
			g.cells = append(g.cells, ColumnCell{Column: i, Cell: c})
		}
	}
	return g
}

// grid checks a compact row's fields, at most maxCells columns, and keeps
// what a gathering needs of them.
func (w *compactFields) grid(maxCells int) (*rowGrid, error) {
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
	g := &rowGrid{columns: w.Columns, classes: make([]string, len(w.Columns)), cells: w.Cells}
	for i := range len(w.Codes) {
		k := strings.IndexByte(codeDigits, w.Codes[i])
		switch {
		case w.Codes[i] == noCode:
			g.classes[i] = string(noCode)
		case k < 0 || k >= len(w.Classes):
			return nil, notRow(fmt.Sprintf("compact row: code %q of column %d names no class of %d", dnsname.Sanitize(w.Codes[i:i+1]), i, len(w.Classes)))
		case w.Classes[k] != okClass:
			g.classes[i] = cmp.Or(short(oneLine(w.Classes[k])), "error") // a failure, whatever it is called
		}
	}
	for _, c := range w.Cells {
		if c.Column < 0 || c.Column >= len(w.Columns) {
			return nil, notRow(fmt.Sprintf("compact row: a cell of column %d, of %d", c.Column, len(w.Columns)))
		}
	}
	return g, nil
}

// ownRow is this node's own row as a gathering keeps a peer's.
func (m *Mesh) ownRow() *Row {
	own := m.compactRow()
	w := compactFields{Form: own.Form, Classes: own.Classes, Columns: own.Columns, Codes: own.Codes, Cells: own.Cells}
	g, err := w.grid(len(own.Columns))
	if err != nil { // made by compactRow: it does not happen
		m.log.Warn("this node's own row is not a row", "err", err)
		g = &rowGrid{}
	}
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
