package mesh

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"runtime/debug"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFirstOutcomeIsNoChange: a destination's cell travels in full in the
// compact row while it fails, and in the round its class changed from an
// earlier outcome's, never for its first outcome being ok, so that a new
// node's or a new peer's ok cells are a code each from the start.
func TestFirstOutcomeIsNoChange(t *testing.T) {
	tests := []struct {
		name     string
		outcomes []string // the class of each round's probe, "" ok
		full     []bool   // the cell in full in each round's compact row
	}{
		{"ok from the first probe", []string{"", "", ""}, []bool{false, false, false}},
		{"failing from the first probe", []string{"refused", "refused"}, []bool{true, true}},
		{"failing, then ok", []string{"refused", "", ""}, []bool{true, true, false}},
		{"ok, then failing, then ok", []string{"", "timeout", "", ""}, []bool{false, true, true, false}},
		{"failing, another class", []string{"timeout", "refused"}, []bool{true, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Options{Interval: time.Second, MaxPeers: 1, Timeout: 100 * time.Millisecond, Grace: time.Minute, Node: "n"},
				slog.New(slog.NewTextHandler(io.Discard, nil)))
			require.NoError(t, err)
			a := netip.MustParseAddrPort("10.0.0.2:7890")
			c := &cell{addr: a}
			m.cells[a] = c
			for i, class := range tc.outcomes {
				round := uint64(i + 1)
				c.record(time.Now(), round, class, class, time.Millisecond, "ipv4")
				m.round = round // the round completed
				r := m.compactRow()
				assert.Equal(t, tc.full[i], len(r.Cells) == 1, "round %d: %+v", round, r.Cells)
			}
		})
	}
}

// TestGatherTableKeepsBytesACell: rows of a thousand columns, each
// without its own address as a node's row is, keep a few spans and a code
// a column of their own, the addresses once in the table, and the words
// of their full cells once.
func TestGatherTableKeepsBytesACell(t *testing.T) {
	const n = 1000
	addr := func(i int) string { return fmt.Sprintf("10.0.%d.%d:7890", i/250, i%250+1) }
	tab := newGatherTable()
	kept := 0
	var grids []*rowGrid
	for row := range n {
		var cols []string
		var codes []byte
		for i := range n {
			if i != row {
				cols, codes = append(cols, addr(i)), append(codes, tab.code(okClass))
			}
		}
		cells := []ColumnCell{{Column: 0, Cell: Cell{Host: "h", Address: cols[0], Family: "ipv4", Class: "refused", Error: "can't connect to " + cols[0] + ": refused"}}}
		g := tab.keep(cols, codes, cells)
		assert.LessOrEqual(t, len(g.spans), 3, "row %d", row)
		assert.Empty(t, g.cells[0].Address, "named by the matrix's column")
		kept += g.kept
		grids = append(grids, g)
	}
	assert.Len(t, tab.addrs, n)
	assert.Same(t, unsafe.StringData(grids[1].cells[0].Error), unsafe.StringData(grids[n-1].cells[0].Error), "one error string towards address 0")
	t.Logf("%d rows of %d columns keep %d bytes: %.2f a cell", n, n-1, kept, float64(kept)/float64(n*(n-1)))
	assert.Less(t, float64(kept)/float64(n*(n-1)), 1.5, "a code a cell, and a full cell a row")
	assert.Equal(t, addr(1), tab.addrs[grids[2].entry(1)], "row 2's second column")
	assert.Equal(t, addr(3), tab.addrs[grids[2].entry(2)], "row 2's third column")
	assert.Equal(t, int32(-1), grids[2].entry(n-1), "past its columns")
}

// TestMatrixBudget: a gathering's rows may hold a quarter of the memory
// limit the process runs under, at most 256 MiB.
func TestMatrixBudget(t *testing.T) {
	was := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(was) })
	for _, tc := range []struct {
		limit, want int64
	}{{64 << 20, 16 << 20}, {512 << 20, 128 << 20}, {4 << 30, 256 << 20}, {math.MaxInt64, 256 << 20}} {
		debug.SetMemoryLimit(tc.limit)
		assert.Equal(t, tc.want, matrixBudget(), "GOMEMLIMIT %d", tc.limit)
	}
}

// TestRowBudget: fetches are charged what they read, and a row once read
// what it keeps; a charge past the budget fails and takes nothing.
func TestRowBudget(t *testing.T) {
	b := &rowBudget{total: 100}
	require.True(t, b.charge(60))
	assert.False(t, b.charge(60), "a second fetch past the room the first holds")
	assert.Equal(t, int64(60), b.held.Load(), "a failed charge takes nothing")
	assert.True(t, b.done(60, 30, 0)) // the first row read, and 30 kept
	assert.True(t, b.charge(70))
	assert.False(t, b.charge(1))
	assert.True(t, b.done(70, 0, 0)) // a fetch that failed keeps nothing
	assert.Equal(t, int64(30), b.held.Load())
	require.True(t, b.charge(20))
	assert.False(t, b.done(20, 80, 5), "a row keeping more than it read, past the room left")
	assert.Equal(t, int64(35), b.held.Load(), "a row refused keeps only what the table grew by for it, its read bytes given back")
	require.True(t, b.charge(20))
	assert.True(t, b.done(20, 65, 5), "a row keeping more than it read, within the room left")
	assert.Equal(t, int64(100), b.held.Load())
}
