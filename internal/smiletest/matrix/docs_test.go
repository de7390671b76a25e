package matrix

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The pages whose tables the data must match.
const pathFaultsPage = "../../../docs/path-faults.md"

func readPage(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// TestDocsAddressingTable keeps the addressing tables, docs/matrices.md's
// over TCP and docs/datagrams.md's over UDP, and the cells the integration
// suite runs identical, cell for cell, header included.
func TestDocsAddressingTable(t *testing.T) {
	for _, p := range AddressingProtocols {
		t.Run(p.Name, func(t *testing.T) {
			page := readPage(t, "../../../"+p.Page)
			rows, err := DocTable(page, "| server listens on |")
			require.NoError(t, err)
			require.Len(t, rows, len(Addressing))
			for i, row := range Addressing {
				require.Len(t, rows[i], 1+len(AddressingColumns), "docs row %d", i)
				assert.Equal(t, row.Name, rows[i][0], "docs row %d", i)
				for j, want := range row.Outcomes {
					assert.Equal(t, string(want), rows[i][1+j], "%s row %q, column %q", p.Page, rows[i][0], AddressingColumns[j].Name)
				}
			}
			var names []string
			for _, c := range AddressingColumns {
				names = append(names, c.Name)
			}
			assert.Equal(t, names, Cells(headerLine(t, page, "| server listens on |"))[1:], "%s: the columns in the data's order", p.Page)
		})
	}
}

// TestDocsRestartTable does the same for the restart table.
func TestDocsRestartTable(t *testing.T) {
	rows, err := DocTable(readPage(t, "../../../docs/matrices.md"), "| old server |")
	require.NoError(t, err)
	require.Len(t, rows, len(Restart))
	onOff := map[bool]string{true: "on", false: "off"}
	yesNo := map[bool]string{true: "yes", false: "no"}
	for i, row := range Restart {
		got := rows[i]
		require.Len(t, got, 4, "docs row %d", i)
		switch {
		case row.Keep:
			assert.Equal(t, "still running", got[0], "row %q", row.Name)
		case row.NewNamespace:
			assert.Equal(t, "reuseaddr "+onOff[row.OldReuse]+", container restarted (new namespace)", got[0], "row %q", row.Name)
		default:
			assert.Equal(t, "reuseaddr "+onOff[row.OldReuse], got[0], "row %q", row.Name)
		}
		assert.Equal(t, "reuseaddr "+onOff[row.NewReuse], got[1], "row %q", row.Name)
		assert.Equal(t, yesNo[row.Served], got[2], "row %q", row.Name)
		want := "exits 1"
		if row.Starts {
			want = "starts"
		}
		assert.True(t, strings.HasPrefix(got[3], want), "row %q: %q, want it to start with %q", row.Name, got[3], want)
	}
}

// TestDocsPathFaultTable keeps the path-fault table of docs/path-faults.md
// and the cells the integration suite runs identical; on a difference it
// prints the rows as the data says them.
func TestDocsPathFaultTable(t *testing.T) {
	var want [][]string
	for _, row := range PathFaults {
		cells := []string{row.Fault}
		for col := range PathColumns {
			cells = append(cells, row.Cell(col))
		}
		want = append(want, cells)
	}
	checkDocTable(t, pathFaultsPage, "| fault | dotted IPv4 |", append([][]string{append([]string{"fault"}, PathColumns...)}, want...))
}

// TestDocsFailureMeanings does the same for "What a failure means": the
// fault, exactly what the client prints for it (rendered with the page's
// documentation addresses), what it means and what to check next.
func TestDocsFailureMeanings(t *testing.T) {
	want := [][]string{{"fault", "smile-client prints", "what it means on a real network", "what to check next"}}
	for _, row := range PathFaults {
		want = append(want, []string{row.Fault, "`" + row.Prints() + "`", row.Means, row.Next})
	}
	checkDocTable(t, pathFaultsPage, "| fault | smile-client prints |", want)
}

// checkDocTable compares the table of the page at path under header,
// header row included, with want (in Markdown, backticks and all), cell for
// cell, and prints want's body rows when they differ.
func checkDocTable(t *testing.T, path, header string, want [][]string) {
	t.Helper()
	page := readPage(t, path)
	body, err := DocTable(page, header)
	require.NoError(t, err)
	got := append([][]string{Cells(headerLine(t, page, header))}, body...)
	var plain [][]string
	for _, r := range want {
		plain = append(plain, Cells("| "+strings.Join(r, " | ")+" |"))
	}
	same := assert.Len(t, got, len(plain), "docs table %q: rows, header included", header)
	for i := range min(len(got), len(plain)) {
		same = assert.Equal(t, plain[i], got[i], "docs table %q, row %d (%q)", header, i, plain[i][0]) && same
	}
	if same {
		return
	}
	var b strings.Builder
	for _, r := range want[1:] {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	t.Logf("the rows the data gives under %q:\n%s", header, b.String())
}

// headerLine is the line of page that starts with header.
func headerLine(t *testing.T, page, header string) string {
	t.Helper()
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(line, header) {
			return line
		}
	}
	t.Fatalf("the page has no line starting %q", header)
	return ""
}
