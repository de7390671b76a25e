package matrix

import (
	"fmt"
	"strings"
)

// DocTable returns the body rows of the first Markdown table in page whose
// header row starts with header, each cell trimmed and stripped of
// backticks, so that a test can hold a table of the docs to the data.
func DocTable(page, header string) ([][]string, error) {
	var rows [][]string
	in := false
	for _, line := range strings.Split(page, "\n") {
		switch {
		case !in && strings.HasPrefix(line, header):
			in = true
		case in && strings.HasPrefix(line, "|---"):
		case in && strings.HasPrefix(line, "|"):
			rows = append(rows, Cells(line))
		case in:
			return rows, nil
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no table starting %q", header)
	}
	return rows, nil
}

// Cells splits one Markdown table row into its cells, trimmed and without
// backticks.
func Cells(line string) []string {
	var cells []string
	for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
		cells = append(cells, strings.TrimSpace(strings.ReplaceAll(c, "`", "")))
	}
	return cells
}
