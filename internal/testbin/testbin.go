// Package testbin builds a command of this module once per test binary.
//
// Deprecated: use smiletest.Build, which this forwards to.
package testbin

import (
	"testing"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// Build is smiletest.Build.
func Build(t testing.TB, dir string) string {
	t.Helper()
	return smiletest.Build(t, dir)
}
