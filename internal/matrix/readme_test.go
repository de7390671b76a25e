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
