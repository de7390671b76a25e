package smiletest

import (
	"os"
	"os/exec"
	"testing"
)

// Tool is the path of the program name that a test runs (promtool,
// xmllint): under CI (CI set) its absence fails the test, since CI
// installs it (.ci/run); elsewhere it skips the test, saying which Debian
// package has it.
func Tool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found: install Debian's %s", name, debianPackage)
	}
	t.Skipf("%s not found: apt-get install %s", name, debianPackage)
	return ""
}
