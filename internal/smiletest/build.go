package smiletest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

var (
	buildMu sync.Mutex
	builds  = map[string]*build{}
)

type build struct {
	once sync.Once
	path string
	err  error
}

// Build compiles the main package in dir (relative to the test's working
// directory, "." for the package under test) for the test binary's own
// GOOS and GOARCH into a temporary file and returns its path; later calls
// with the same dir return the same file.
func Build(t testing.TB, dir string) string {
	t.Helper()
	buildMu.Lock()
	b, ok := builds[dir]
	if !ok {
		b = &build{}
		builds[dir] = b
	}
	buildMu.Unlock()
	b.once.Do(func() { b.path, b.err = goBuild(dir) })
	if b.err != nil {
		t.Fatalf("smiletest: %v", b.err)
	}
	return b.path
}

func goBuild(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	removeStale()
	// Shared by every test of the process, so not t.TempDir; stale ones
	// from earlier runs are removed above.
	tmp, err := os.MkdirTemp("", "smile-testbin")
	if err != nil {
		return "", err
	}
	path := filepath.Join(tmp, filepath.Base(abs))
	if runtime.GOOS == "windows" {
		path += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", path, ".")
	cmd.Dir = abs
	// For the system and architecture of this test binary, whatever the
	// environment says: an arm64 test run under emulation (make
	// unit-arm64) runs arm64 programs.
	cmd.Env = append(os.Environ(), "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w: %s", abs, err, out)
	}
	return path, nil
}

// removeStale deletes build directories of test runs that ended over an
// hour ago, so repeated runs do not fill the temporary directory.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "smile-testbin*"))
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > time.Hour {
			_ = os.RemoveAll(d)
		}
	}
}
