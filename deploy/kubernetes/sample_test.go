package kubernetes

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest/doccheck"
)

// TestVerifySample runs kind/verify.sh on the recorded healthy dual-stack
// cluster and holds the README's sample of its table to that run, line for
// line, from the first table on.
func TestVerifySample(t *testing.T) {
	out, code, _, _ := run(t, healthy(), "verify.sh", "FAMILIES=IPv4 IPv6")
	require.Equal(t, 0, code, out)
	const from = ">> every node's server pod"
	i := strings.Index(out, from)
	require.GreaterOrEqual(t, i, 0, "no %q line:\n%s", from, out)
	doccheck.CheckSample(t, "README.md", "verify-healthy", out[i:])
	assert.True(t, strings.HasSuffix(out, ">> every node and Service greeted over IPv4 IPv6, and every node pair in the mesh\n"), out)
}

// TestVerifyMeshSample runs kind/verify.sh on the recorded cluster whose
// mesh served the matrix TestMesh captured while IPv6 SYNs to node-c were
// dropped, and holds the README's sample to that run: the mesh table's
// header, its rows that are not ok, and the failing cells.
func TestVerifyMeshSample(t *testing.T) {
	c := healthy()
	c.matrix = "ipv6-dropped.json"
	out, code, _, _ := run(t, c, "verify.sh", "FAMILIES=IPv4 IPv6", "MESH_TIMEOUT=1")
	require.Equal(t, 1, code, out)
	const from, failing = ">> every ordered node pair", ">> failing cells of the mesh"
	i, j := strings.Index(out, from), strings.Index(out, failing)
	require.True(t, i >= 0 && j > i, "no %q or %q line:\n%s", from, failing, out)
	lines := strings.SplitAfter(out[i:j], "\n")
	sample := strings.Join(lines[:2], "")
	for _, l := range lines[2:] {
		if l != "" && !strings.HasSuffix(l, " ok\n") {
			sample += l
		}
	}
	end := strings.Index(out[j:], ">> FAILED")
	require.Positive(t, end, out)
	doccheck.CheckSample(t, "README.md", "verify-mesh", sample+out[j:j+end])
}
