package client

import (
	"os"
	"testing"
)

// maxRSSKiB would be a finished child's peak resident size, which Windows
// does not report for a process that has exited.
func maxRSSKiB(t *testing.T, _ *os.ProcessState) int64 {
	t.Helper()
	t.Skip("reads a child's peak RSS from getrusage(2), which Windows does not have")
	return 0
}
