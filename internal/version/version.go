// Package version holds the build's identity, so that a binary found on a
// host can be traced back to its commit. The Makefile and the Dockerfiles
// stamp it with -ldflags; any other build (`go install …@v1.2.3`,
// `go install ./cmd/...` in a clone) is identified by what the Go toolchain
// recorded in the binary.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version and Revision are set at link time (-X). Left empty (or "dev", the
// Makefile's answer outside a git checkout), the build info answers instead.
var (
	Version  string
	Revision string
)

// unknown is shown for what neither the linker nor the build info knows.
const unknown = "unknown"

// Info returns the build's version and revision: the stamped values where
// the build stamped them, otherwise the module version and VCS revision the
// Go toolchain recorded.
func Info() (version, revision string) {
	bi, _ := debug.ReadBuildInfo()
	return resolve(Version, Revision, bi)
}

// String is the one-line answer to -version.
func String(program string) string {
	v, r := Info()
	return fmt.Sprintf("%s %s (revision %s, %s, %s/%s)", program, v, r, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// resolve prefers the stamped values and fills the rest from bi (nil when
// the binary carries no build info).
func resolve(stampedVersion, stampedRevision string, bi *debug.BuildInfo) (version, revision string) {
	version, revision = stampedVersion, stampedRevision
	if version == "dev" {
		version = ""
	}
	if revision == unknown {
		revision = ""
	}
	if bi != nil {
		if version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		if revision == "" {
			revision = vcsRevision(bi)
		}
		if revision == "" {
			revision = pseudoRevision(bi.Main.Version)
		}
	}
	if version == "" {
		version = "dev"
	}
	if revision == "" {
		revision = unknown
	}
	return version, revision
}

// vcsRevision is the commit `go build` recorded in a checkout (vcs.revision),
// marked "-dirty" when the tree had changes, as `git describe --dirty` does.
func vcsRevision(bi *debug.BuildInfo) string {
	var rev string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev != "" && modified {
		rev += "-dirty"
	}
	return rev
}

// pseudoRevision is the commit prefix a pseudo-version ends with
// (v0.0.0-20260102150405-0123456789ab), as `go install …@main` records it.
func pseudoRevision(v string) string {
	v, _, _ = strings.Cut(v, "+") // +incompatible, +dirty
	i := strings.LastIndexByte(v, '-')
	if i < 0 {
		return ""
	}
	rev := v[i+1:]
	if len(rev) != 12 || strings.Trim(rev, "0123456789abcdef") != "" {
		return ""
	}
	// The part before must be a 14-digit timestamp (after a '-' or '.').
	head := v[:i]
	if len(head) < 14 || strings.Trim(head[len(head)-14:], "0123456789") != "" {
		return ""
	}
	return rev
}
