package client

import (
	"os"
	"syscall"
	"testing"
)

// maxRSSKiB is a finished child's peak resident size; macOS's getrusage(2)
// gives it in bytes.
func maxRSSKiB(t *testing.T, ps *os.ProcessState) int64 {
	t.Helper()
	return ps.SysUsage().(*syscall.Rusage).Maxrss / 1024
}
