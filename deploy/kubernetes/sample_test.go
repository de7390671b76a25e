package kubernetes

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/doccheck"
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
	assert.True(t, strings.HasSuffix(out, ">> every node and Service greeted over IPv4 IPv6\n"), out)
}
