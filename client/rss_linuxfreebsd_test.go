//go:build linux || freebsd

package client

import (
	"os"
	"syscall"
	"testing"
)

// maxRSSKiB is a finished child's peak resident size, which getrusage(2)
// gives in KiB here.
func maxRSSKiB(t *testing.T, ps *os.ProcessState) int64 {
	t.Helper()
	return ps.SysUsage().(*syscall.Rusage).Maxrss
}
