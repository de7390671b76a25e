package matrix

import "testing"

// routerPage is the page of the router's tables.
const routerPage = "../../../docs/router.md"

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
	checkDocTable(t, routerPage, "| fault at the router | dotted IPv4 |", want)
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
	checkDocTable(t, routerPage, "| fault at the router | smile-client prints |", want)
}
