package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGoBuildReportsRevision builds smile-server as `go install ./cmd/...`
// does in a fresh clone (no -ldflags) and checks that -version names the
// clone's commit. The clone is made from this checkout's HEAD: Go records
// no VCS information in a git worktree, whose .git is a file.
func TestGoBuildReportsRevision(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	git := func(dir string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %s: the test needs a git checkout: %s", strings.Join(args, " "), out)
		return strings.TrimSpace(string(out))
	}
	want := git(root, "rev-parse", "HEAD")
	clone := filepath.Join(t.TempDir(), "smile")
	git(root, "clone", "-q", "--shared", "--no-checkout", root, clone)
	git(clone, "checkout", "-q", want)

	bin := filepath.Join(t.TempDir(), "smile-server")
	build := exec.Command("go", "build", "-o", bin, "./cmd/smile-server")
	build.Dir = clone
	// -buildvcs=auto is Go's default; a machine's GOFLAGS may turn it off.
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=auto")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	out, err = exec.Command(bin, "-version").Output()
	require.NoError(t, err)
	assert.Contains(t, string(out), "(revision "+want+",", "smile-server -version")
	assert.True(t, strings.HasPrefix(string(out), "smile-server v"), "a module version from the build info: %q", out)
}
