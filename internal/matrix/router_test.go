package matrix

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func routerDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/router.md")
	require.NoError(t, err)
	return string(b)
}

// TestRouterDocTable keeps docs/router.md's "Across a router" table and
// the cells the integration suite runs (TestRouter) identical; on a
// difference it prints the rows as the data says them.
func TestRouterDocTable(t *testing.T) {
	want := [][]string{append([]string{"fault at the router"}, PathColumns...)}
	for _, row := range RouterFaults {
		cells := []string{row.Fault}
		for col := range PathColumns {
			cells = append(cells, row.Cell(col))
		}
		want = append(want, cells)
	}
	checkTable(t, "docs/router.md", routerDoc(t), "| fault at the router | dotted IPv4 |", want)
}

// TestRouterDocFailureMeanings does the same for its "What a failure
// means" table: exactly what the client prints (the line TestRouter
// asserts, with the documentation's addresses), what it means, what to
// check next.
func TestRouterDocFailureMeanings(t *testing.T) {
	want := [][]string{{"fault at the router", "smile-client prints", "what it means on a real network", "what to check next"}}
	for _, row := range RouterFaults {
		want = append(want, []string{row.Fault, "`" + row.Prints() + "`", row.Means, row.Next})
	}
	checkTable(t, "docs/router.md", routerDoc(t), "| fault at the router | smile-client prints |", want)
}
