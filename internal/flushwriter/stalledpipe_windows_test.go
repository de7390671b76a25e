package flushwriter

import (
	"os"
	"testing"
)

// stalledPipe fills a pipe's buffer with non-blocking writes
// (stalledpipe_notwindows_test.go); a Windows pipe has no non-blocking mode to
// find where it is full, so the tests that need one skip.
func stalledPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	t.Skip("fills a pipe with non-blocking writes, which Windows pipes do not have")
	return nil, nil
}
