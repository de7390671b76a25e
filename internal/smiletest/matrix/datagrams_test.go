package matrix

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// datagramsPage is the page of the datagram tables.
const datagramsPage = "../../../docs/datagrams.md"

// TestDatagramsDocTables keeps docs/datagrams.md's multi-homed table and
// its table of datagrams across a router identical to the cells
// TestDatagramsMultiHomed and TestDatagramsRouter run.
func TestDatagramsDocTables(t *testing.T) {
	multi := [][]string{{"answers on the host", "sent to", "outcome"}}
	for _, r := range MultiHomed {
		multi = append(multi, []string{r.Answerer, r.To, string(r.Outcome)})
	}
	checkDocTable(t, datagramsPage, "| answers on the host |", multi)

	routed := [][]string{{"across the router", "fault at the router", "smile-client", "exit", "prints"}}
	for _, r := range DatagramRouter {
		fault := "none"
		if len(r.Netfault) > 0 {
			fault = "`netfault " + strings.Join(r.Netfault, " ") + "`"
		}
		prints := make([]string, len(r.Prints))
		for i, p := range r.Prints {
			prints[i] = "`" + p + "`"
		}
		routed = append(routed, []string{r.Case, fault, "`" + strings.Join(r.Args, " ") + "`", strconv.Itoa(r.Exit), strings.Join(prints, "; ")})
	}
	checkDocTable(t, datagramsPage, "| across the router |", routed)
}

// TestMeshSitesDocTable keeps docs/datagrams.md's table of the mesh
// across two sites identical to the cells TestMeshAcrossSites expects.
func TestMeshSitesDocTable(t *testing.T) {
	want := [][]string{{"from", "to", "path_mtu", "interface_mtu", "pmtu_reported_by", "hops", "in /matrix.json's cells"}}
	for _, r := range MeshSites {
		by := "none"
		if r.ReportedBy != "" {
			by = "the router's address in " + r.ReportedBy
		}
		full := map[bool]string{true: "in full", false: "a code alone"}[r.Full]
		want = append(want, []string{r.From, r.To, strconv.Itoa(r.PathMTU), strconv.Itoa(r.InterfaceMTU), by, strconv.Itoa(r.Hops), full})
	}
	checkDocTable(t, datagramsPage, "| from | to | path_mtu |", want)
}

// TestDatagramsLossTable holds the first three columns of docs/datagrams.md's
// loss table for containers to LossRows and LossTolerance; the last is one
// run's figures.
func TestDatagramsLossTable(t *testing.T) {
	rows, err := DocTable(readPage(t, datagramsPage), "| loss set at the router |")
	require.NoError(t, err)
	require.Len(t, rows, len(LossRows))
	for i, r := range LossRows {
		tol := LossTolerance(float64(r.Percent)/100, r.Count)
		assert.Equal(t, []string{fmt.Sprintf("%d %%", r.Percent), strconv.Itoa(r.Count), fmt.Sprintf("± %.3f", tol)}, rows[i][:3], "docs row %d", i)
	}
}
