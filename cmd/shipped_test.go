// Package cmd_test checks what the two programs are made of: the packages
// under internal/ that ship, and nothing of the test and bench machinery
// (internal/smiletest and below) or of the libraries only tests use.
// docs/architecture.md's map of the packages follows the same line.
package cmd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testOnly are import-path prefixes that must never reach a program: the
// test and bench machinery, and the libraries the tests, the browser check
// and the manifests' checks bring in.
var testOnly = []string{
	"github.com/smile-sockets/smile/internal/smiletest",
	"github.com/smile-sockets/smile/integration",
	"github.com/smile-sockets/smile/deploy",
	"github.com/stretchr/testify",
	"github.com/testcontainers/",
	"github.com/docker/",
	"github.com/chromedp/",
	"k8s.io/",
	"sigs.k8s.io/",
}

// TestProgramsShipNoTestMachinery lists the programs' dependencies for
// every system the release builds for, as `go list -deps ./cmd/...` does.
func TestProgramsShipNoTestMachinery(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows", "freebsd"} {
		t.Run(goos, func(t *testing.T) {
			deps := programDeps(t, goos)
			require.Contains(t, deps, "github.com/smile-sockets/smile/server", "the list is the programs' dependencies")
			for _, dep := range deps {
				for _, prefix := range testOnly {
					assert.False(t, strings.HasPrefix(dep, prefix), "%s is a dependency of ./cmd/... on %s", dep, goos)
				}
			}
		})
	}
}

func programDeps(t *testing.T, goos string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "github.com/smile-sockets/smile/cmd/...")
	cmd.Env = append(cmd.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
	out, err := cmd.Output()
	require.NoError(t, err, "go list -deps ./cmd/... for %s", goos)
	return strings.Fields(string(out))
}

// TestArchitectureMapsInternal holds docs/architecture.md's two tables to
// the tree: every package directly in internal/ is a row of the shipped
// table, every one in internal/smiletest/ a row of the machinery table,
// so that a reader of the page learns of each package where it lives.
func TestArchitectureMapsInternal(t *testing.T) {
	doc, err := os.ReadFile("../docs/architecture.md")
	require.NoError(t, err)
	shipped, machinery, _ := strings.Cut(string(doc), "| test and bench machinery")
	machinery, _, _ = strings.Cut(machinery, "\n\n")
	named := regexp.MustCompile("(?m)^\\| ([^|]*)\\|")
	rows := func(table string) string {
		var b strings.Builder
		for _, m := range named.FindAllStringSubmatch(table, -1) {
			b.WriteString(m[1])
		}
		return b.String()
	}
	for _, tc := range []struct{ dir, table string }{
		{"../internal", rows(shipped)},
		{"../internal/smiletest", rows(machinery)},
	} {
		entries, err := os.ReadDir(tc.dir)
		require.NoError(t, err)
		for _, e := range entries {
			if !e.IsDir() || e.Name() == "smiletest" || e.Name() == "testdata" {
				continue
			}
			if files, _ := filepath.Glob(filepath.Join(tc.dir, e.Name(), "*.go")); len(files) == 0 {
				continue
			}
			assert.Contains(t, tc.table, "`"+e.Name()+"`", "docs/architecture.md has no row for %s/%s", tc.dir, e.Name())
		}
	}
}

// TestDockerContextHoldsWhatShips: every package of the module that the
// programs are made of is in the default Dockerfile's build context
// (.dockerignore lets in only what it names), so that `docker build .`
// from a clone builds what `go build ./cmd/...` builds.
func TestDockerContextHoldsWhatShips(t *testing.T) {
	ignore, err := os.ReadFile("../.dockerignore")
	require.NoError(t, err)
	out, err := exec.Command("go", "list", "-deps", "./...").Output()
	require.NoError(t, err)
	const module = "github.com/smile-sockets/smile/"
	for _, dep := range strings.Fields(string(out)) {
		rest, ok := strings.CutPrefix(dep, module)
		if !ok || rest == "cmd" {
			continue
		}
		top, _, _ := strings.Cut(rest, "/")
		assert.Contains(t, string(ignore), "\n!"+top+"/\n", ".dockerignore leaves out %s, which %s needs", top+"/", "./cmd/...")
	}
}
