package mesh

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// gatherLimits are a gathering's bounds on a row when the peer set makes
// cells possible, with a table of its own.
func gatherLimits(t *testing.T, cells int) rowLimits {
	t.Helper()
	return rowLimits{bytes: 4<<10 + cells*maxCellBytes, cells: cells, all: true, table: newGatherTable()}
}

// compactHead is the head and form of node p's compact row, announcing
// addr, to which a test adds its lists.
func compactHead(schema int, addr string) string {
	return fmt.Sprintf(`{"schema_version":%d,"type":"mesh_node","node":"p","addresses":[%q],"form":"compact"`, schema, addr)
}

// TestCompactListsRefusedBeforeTheirBound: a compact row whose list of
// cells, columns or classes fills the row's bytes with tiny elements is
// refused at the element past its bound, having decoded no more than
// that: 100 cells allowed, a 106 KB row of {} allocated 41 MB before.
func TestCompactListsRefusedBeforeTheirBound(t *testing.T) {
	const cells = 100
	lim := gatherLimits(t, cells)
	fill := func(elem string) string {
		return strings.TrimSuffix(strings.Repeat(elem+",", (lim.bytes-200)/len(elem+",")), ",")
	}
	tests := []struct {
		name, list, elem, err string
	}{
		{"cells of {}", "cells", "{}", "too many cells"},
		{"columns of \"\"", "columns", `""`, "too many cells"},
		{"classes of \"\"", "classes", `""`, "compact row: more than 36 classes, more than its codes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := compactHead(1, "10.0.0.2:7890") + `,"` + tc.list + `":[` + fill(tc.elem) + `]}`
			require.LessOrEqual(t, len(body), lim.bytes)
			var err error
			_, alloc := smiletest.HeapPeak(func() {
				_, err = decodeRow(strings.NewReader(body), gatherLimits(t, cells))
			})
			require.Error(t, err)
			assert.Equal(t, tc.err, err.Error())
			t.Logf("%d-byte row: %d bytes allocated", len(body), alloc)
			assert.Less(t, alloc, uint64(1<<20), "allocated while decoding a %d-byte row", len(body))
		})
	}
}

// tableSize is what t holds: addresses, words and classes.
func tableSize(t *gatherTable) [3]int {
	return [3]int{len(t.addrs), len(t.words), len(t.book.classes)}
}

// TestRefusedRowLeavesTheTable: a row refused for its head (another
// schema, a node name that is no host name, too many addresses) adds
// nothing to the gathering's table, whose bytes the budget would give
// back with the refused row's: schema_version 2 with 100 columns of 900
// bytes grew it by 96 KB before.
func TestRefusedRowLeavesTheTable(t *testing.T) {
	long := func(i int) string { return fmt.Sprintf(`"%0900d"`, i) }
	var cols, codes, cells []string
	for i := range 100 {
		cols, codes = append(cols, long(i)), append(codes, "1")
		cells = append(cells, fmt.Sprintf(`{"host":"h","address":%s,"ok":false,"class":"refused","error":%s}`, long(i), long(i)))
	}
	compact := `,"classes":["ok","junk"],"columns":[` + strings.Join(cols, ",") + `],"codes":"` + strings.Join(codes, "") + `","cells":[]}`
	full := `,"destinations":[` + strings.Join(cells, ",") + `]}`
	head := `{"type":"mesh_node","addresses":["10.0.0.2:7890"]`
	tests := []struct {
		name, body, err string
	}{
		{"compact, schema_version 2", compactHead(2, "10.0.0.2:7890") + compact, `schema_version 2, type "mesh_node": want 1, "mesh_node"`},
		{"full, schema_version 2", head + `,"schema_version":2,"node":"p"` + full, `schema_version 2, type "mesh_node": want 1, "mesh_node"`},
		{"full, node name", head + `,"schema_version":1,"node":"a b"` + full, `node name "ab" is not a host name`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lim := gatherLimits(t, 200)
			before := tableSize(lim.table)
			_, err := decodeRow(strings.NewReader(tc.body), lim)
			require.Error(t, err)
			assert.Equal(t, tc.err, err.Error())
			assert.Equal(t, before, tableSize(lim.table), "addresses, words, classes")
		})
	}
}

// servedRow serves body as every row asked of 127.0.0.1, and is a mesh
// whose one peer is there, fetching rows from it.
func servedRow(t *testing.T, body string) *Mesh {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) })}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	m, err := New(Options{Interval: 2 * time.Second, MaxPeers: 1, Timeout: time.Second, Grace: time.Minute, Node: "n",
		HTTPPort: ln.Addr().(*net.TCPAddr).Port}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	m.peers = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:7890")}
	return m
}

// TestRowKeepingMoreThanItsBytesIsCharged: a row whose cells keep more
// than the bytes read of them ({"column":0} is 12 bytes read, a full
// cell kept) is charged what it keeps beyond them, and refused when that
// is past the gathering's budget: 17 such cells, 989 bytes read, kept
// 5,325 bytes of a 4 KiB budget before.
func TestRowKeepingMoreThanItsBytesIsCharged(t *testing.T) {
	var cols, cells []string
	for i := range 17 {
		cols = append(cols, fmt.Sprintf(`"10.0.0.%d:7890"`, i+1))
		cells = append(cells, fmt.Sprintf(`{"column":%d,"class":"refused"}`, i))
	}
	body := compactHead(1, "127.0.0.1:7890") + `,"classes":["ok","refused"],"columns":[` + strings.Join(cols, ",") + `],"codes":"` +
		strings.Repeat("1", 17) + `","cells":[` + strings.Join(cells, ",") + `]}`
	row, err := decodeRow(strings.NewReader(body), gatherLimits(t, 17))
	require.NoError(t, err)
	t.Logf("%d bytes read, %d kept", len(body), row.keptBytes())
	tests := []struct {
		name   string
		budget int64
		err    string
	}{
		{"within the budget", 64 << 10, ""},
		{"past the budget", 4 << 10, "not kept: the gathering already holds the 4 KiB of rows it may"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := servedRow(t, body)
			m.budgetBytes = tc.budget
			var mat Matrix
			require.NoError(t, json.Unmarshal(Gather(context.Background(), m, 0), &mat))
			require.Len(t, mat.Rows, 2, "own row and the peer's")
			assert.Equal(t, tc.err, mat.Rows[1].Error)
			assert.Equal(t, tc.err != "", mat.Rows[1].Stale)
		})
	}
}

// TestCompactRowSayingTwoThings: a compact row that names an address in
// two columns, gives a column two cells, or a cell of another class than
// its column's code is refused, naming the column.
func TestCompactRowSayingTwoThings(t *testing.T) {
	tests := []struct {
		name, lists, err string
	}{
		{"an address twice", `"columns":["10.0.0.1:7890","10.0.0.3:7890","10.0.0.1:7890"],"codes":"000","cells":[]`,
			"compact row: column 2 repeats column 0's address"},
		{"a column's two cells", `"columns":["10.0.0.1:7890","10.0.0.3:7890"],"codes":"01","cells":[{"column":1,"class":"refused"},{"column":1,"class":"refused"}]`,
			"compact row: two cells of column 1"},
		{"a cell of another class", `"columns":["10.0.0.1:7890","10.0.0.3:7890"],"codes":"01","cells":[{"column":1,"class":"timeout"}]`,
			"compact row: the cell of column 1 is not of the class its code names"},
		{"an ok cell of a failing column", `"columns":["10.0.0.1:7890","10.0.0.3:7890"],"codes":"01","cells":[{"column":1,"ok":true}]`,
			"compact row: the cell of column 1 is not of the class its code names"},
		{"a cell of a column without a code", `"columns":["10.0.0.1:7890","10.0.0.3:7890"],"codes":"0.","cells":[{"column":1,"class":"refused"}]`,
			"compact row: the cell of column 1 is not of the class its code names"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lim := gatherLimits(t, 17)
			before := tableSize(lim.table)
			_, err := decodeRow(strings.NewReader(compactHead(1, "10.0.0.2:7890")+`,"classes":["ok","refused"],`+tc.lists+`}`), lim)
			require.Error(t, err)
			assert.Equal(t, tc.err, err.Error())
			assert.Equal(t, before, tableSize(lim.table), "addresses, words, classes")
		})
	}
	_, err := decodeRow(strings.NewReader(compactHead(1, "10.0.0.2:7890")+`,"classes":["ok","refused"],`+
		`"columns":["10.0.0.1:7890","10.0.0.3:7890"],"codes":"01","cells":[{"column":0,"ok":true},{"column":1,"class":"refused"}]}`), gatherLimits(t, 17))
	assert.NoError(t, err, "a cell of each column, of its class")
}

// TestUnusedClassesTakeNoCode: classes a row lists but no code of it uses,
// or listed by a row refused for its head, take none of the codes left
// for classes of other versions: 36 junk classes took them all before,
// and an honest row's new class was coded "error".
func TestUnusedClassesTakeNoCode(t *testing.T) {
	junk := make([]string, len(codeDigits))
	for i := range junk {
		junk[i] = fmt.Sprintf("%q", fmt.Sprintf("junk%d", i))
	}
	lists := `,"classes":[` + strings.Join(junk, ",") + `],"columns":["10.0.0.1:7890"],"codes":"0","cells":[]}`
	honest := compactHead(1, "10.0.0.3:7890") + `,"classes":["ok","brand-new"],"columns":["10.0.0.1:7890"],"codes":"1","cells":[{"column":0,"class":"brand-new"}]}`
	tests := []struct {
		name, hostile string
		err           bool
	}{
		{"listed, one used", compactHead(1, "10.0.0.2:7890") + lists, false},
		{"listed by a row of another schema", compactHead(2, "10.0.0.2:7890") + lists, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lim := gatherLimits(t, 17)
			known := len(lim.table.book.classes)
			_, err := decodeRow(strings.NewReader(tc.hostile), lim)
			require.Equal(t, tc.err, err != nil, "%v", err)
			row, err := decodeRow(strings.NewReader(honest), lim)
			require.NoError(t, err)
			assert.Equal(t, "brand-new", lim.table.book.classes[slices.Index([]byte(codeDigits), row.grid.codes[0])])
			assert.LessOrEqual(t, len(lim.table.book.classes), known+2, "the junk class used, and the new one")
		})
	}
}

// TestFullRowClassesShortened: a full row's failure class is kept as a
// compact row's is, short and on one line.
func TestFullRowClassesShortened(t *testing.T) {
	tab := newGatherTable()
	long := strings.Repeat("x", 300) + "\nmore"
	g := tab.gridOf([]Cell{{Address: "10.0.0.1:7890", Class: long}})
	class := tab.book.classes[strings.IndexByte(codeDigits, g.codes[0])]
	assert.Equal(t, short(oneLine(long)), class)
	assert.Len(t, class, 32+len("…"))
}
