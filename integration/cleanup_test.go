package integration

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childEnv makes this test binary, run again by a test, the child that
// TestCleanupFailureChild is.
const childEnv = "SMILE_IT_CLEANUP_CHILD"

// TestCleanupFailureNamesItsTest runs TestCleanupFailureChild in a child
// test binary, without -v as make test once ran it: a test with parallel
// subtests whose cleanup fails. Through nonFatal, as the suite's cleanups
// report, the failure is named with its cause. Through the test itself,
// with FailNow, Go's testing prints a bare FAIL and nothing else
// (golang/go#76447), which is how a run once failed naming no test; should
// Go fix that, the second case fails and says nonFatal may go.
func TestCleanupFailureNamesItsTest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode  string
		named bool
	}{{"nonfatal", true}, {"fatal", false}} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCleanupFailureChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+tc.mode)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "the child fails:\n%s", out)
			if tc.named {
				assert.Contains(t, string(out), "--- FAIL: TestCleanupFailureChild")
				assert.Contains(t, string(out), "removing network: has active endpoints")
			} else {
				// If these fail, Go's testing reports a cleanup's FailNow
				// again, and nonFatal is no longer needed.
				assert.NotContains(t, string(out), "--- FAIL")
				assert.NotContains(t, string(out), "has active endpoints")
				assert.Contains(t, string(out), "FAIL")
			}
		})
	}
}

// TestCleanupFailureChild is the child of TestCleanupFailureNamesItsTest
// and does nothing in a run of the suite.
func TestCleanupFailureChild(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		return
	}
	t.Parallel()
	var tb require.TestingT = t
	if mode == "nonfatal" {
		tb = nonFatal{t}
	}
	t.Cleanup(func() { require.NoError(tb, errors.New("removing network: has active endpoints")) })
	t.Run("sub", func(t *testing.T) { t.Parallel() })
}
