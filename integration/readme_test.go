package integration

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeTable returns the rows of the first Markdown table in README.md
// whose header starts with header, cells trimmed, header and rule dropped.
func readmeTable(t *testing.T, header string) [][]string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	var rows [][]string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case !in && strings.HasPrefix(line, header):
			in = true
		case in && strings.HasPrefix(line, "|---"):
		case in && strings.HasPrefix(line, "|"):
			var cells []string
			for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
				cells = append(cells, strings.TrimSpace(c))
			}
			rows = append(rows, cells)
		case in:
			return rows
		}
	}
	require.NotEmpty(t, rows, "README.md has no table starting %q", header)
	return rows
}

// TestReadmeAddressingTable keeps the README's addressing table and the
// cases this suite runs identical, cell for cell.
func TestReadmeAddressingTable(t *testing.T) {
	rows := readmeTable(t, "| server listens on |")
	require.Len(t, rows, len(addressingRows))
	for i, row := range addressingRows {
		require.Len(t, rows[i], 1+len(columns), "README row %d", i)
		for j, want := range row.outcomes {
			assert.Equal(t, string(want), rows[i][1+j], "README row %q, column %q", rows[i][0], columns[j].name)
		}
	}
}

// TestReadmeRestartTable does the same for the restart table; its last
// row is the container-restart control case.
func TestReadmeRestartTable(t *testing.T) {
	rows := readmeTable(t, "| old server |")
	require.Len(t, rows, len(restartRows)+1)
	onOff := map[string]string{"true": "on", "false": "off"}
	for i, row := range restartRows {
		got := rows[i]
		if row.keep {
			assert.Equal(t, "still running", got[0])
		} else {
			assert.Equal(t, "reuseaddr "+onOff[row.old], got[0])
		}
		assert.Equal(t, "reuseaddr "+onOff[row.new], got[1])
		assert.Equal(t, map[bool]string{true: "yes", false: "no"}[row.served], got[2])
		if row.starts {
			assert.True(t, strings.HasPrefix(got[3], "starts"), "row %d: %q", i, got[3])
		} else {
			assert.True(t, strings.HasPrefix(got[3], "exits 1"), "row %d: %q", i, got[3])
		}
	}
	control := rows[len(rows)-1]
	assert.Equal(t, "reuseaddr off, container restarted (new namespace)", control[0])
	assert.True(t, strings.HasPrefix(control[3], "starts"))
}
