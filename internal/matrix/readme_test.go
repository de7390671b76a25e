package matrix

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	return string(b)
}

// TestReadmeAddressingTable keeps the README's addressing table and the
// cells the integration suite runs identical, cell for cell.
func TestReadmeAddressingTable(t *testing.T) {
	rows, err := ReadmeTable(readme(t), "| server listens on |")
	require.NoError(t, err)
	require.Len(t, rows, len(Addressing))
	for i, row := range Addressing {
		require.Len(t, rows[i], 1+len(AddressingColumns), "README row %d", i)
		assert.Equal(t, row.Name, rows[i][0], "README row %d", i)
		for j, want := range row.Outcomes {
			assert.Equal(t, string(want), rows[i][1+j], "README row %q, column %q", rows[i][0], AddressingColumns[j].Name)
		}
	}
}

// TestReadmeAddressingColumns keeps the header in the order of the data.
func TestReadmeAddressingColumns(t *testing.T) {
	for _, line := range strings.Split(readme(t), "\n") {
		if strings.HasPrefix(line, "| server listens on |") {
			cells := Cells(line)
			var names []string
			for _, c := range AddressingColumns {
				names = append(names, c.Name)
			}
			assert.Equal(t, names, cells[1:])
			return
		}
	}
	t.Fatal("README.md has no addressing table")
}

// TestReadmeRestartTable does the same for the restart table.
func TestReadmeRestartTable(t *testing.T) {
	rows, err := ReadmeTable(readme(t), "| old server |")
	require.NoError(t, err)
	require.Len(t, rows, len(Restart))
	onOff := map[bool]string{true: "on", false: "off"}
	yesNo := map[bool]string{true: "yes", false: "no"}
	for i, row := range Restart {
		got := rows[i]
		require.Len(t, got, 4, "README row %d", i)
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

// TestReadmePathFaultTable keeps the README's path-fault table and the
// cells the integration suite runs identical; on a difference it prints
// the rows as the data says them.
func TestReadmePathFaultTable(t *testing.T) {
	var want [][]string
	for _, row := range PathFaults {
		cells := []string{row.Fault}
		for col := range PathColumns {
			cells = append(cells, row.Cell(col))
		}
		want = append(want, cells)
	}
	checkReadmeTable(t, "| fault | dotted IPv4 |", append([][]string{append([]string{"fault"}, PathColumns...)}, want...))
}

// TestReadmeFailureMeanings does the same for "What a failure means": the
// fault, exactly what the client prints for it (rendered with the README's
// documentation addresses), what it means and what to check next.
func TestReadmeFailureMeanings(t *testing.T) {
	want := [][]string{{"fault", "smile-client prints", "what it means on a real network", "what to check next"}}
	for _, row := range PathFaults {
		want = append(want, []string{row.Fault, "`" + row.Prints() + "`", row.Means, row.Next})
	}
	checkReadmeTable(t, "| fault | smile-client prints |", want)
}

// checkReadmeTable compares the README table under header, header row
// included, with want (in Markdown, backticks and all), cell for cell, and
// prints want's body rows when they differ.
func checkReadmeTable(t *testing.T, header string, want [][]string) {
	t.Helper()
	checkTable(t, "README.md", readme(t), header, want)
}

// checkTable is checkReadmeTable for the document doc, called name.
func checkTable(t *testing.T, name, doc, header string, want [][]string) {
	t.Helper()
	body, err := ReadmeTable(doc, header)
	require.NoError(t, err, name)
	got := append([][]string{Cells(headerLine(t, name, doc, header))}, body...)
	var plain [][]string
	for _, r := range want {
		plain = append(plain, Cells("| "+strings.Join(r, " | ")+" |"))
	}
	same := assert.Len(t, got, len(plain), "%s table %q: rows, header included", name, header)
	for i := range min(len(got), len(plain)) {
		same = assert.Equal(t, plain[i], got[i], "%s table %q, row %d (%q)", name, header, i, plain[i][0]) && same
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

// headerLine is the line of doc that starts with header.
func headerLine(t *testing.T, name, doc, header string) string {
	t.Helper()
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, header) {
			return line
		}
	}
	t.Fatalf("%s has no line starting %q", name, header)
	return ""
}
