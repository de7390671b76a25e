// Package version holds the build's identity, stamped by the Makefile with
// -ldflags so that a binary found on a host can be traced back to its commit.
package version

import (
	"fmt"
	"runtime"
)

// Version and Revision are set at link time (-X); the defaults mark a build
// that did not go through the Makefile, such as `go run`.
var (
	Version  = "dev"
	Revision = "unknown"
)

// String is the one-line answer to -version.
func String(program string) string {
	return fmt.Sprintf("%s %s (revision %s, %s, %s/%s)", program, Version, Revision, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
