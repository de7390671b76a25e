//go:build !linux

package client

import (
	"os"
	"testing"
	"time"
)

// waitPipeFull gives a pipe's writer time to fill it: without Linux's
// TIOCINQ (pipe_linux_test.go) what the pipe holds cannot be read.
func waitPipeFull(t *testing.T, _ *os.File) {
	t.Helper()
	time.Sleep(500 * time.Millisecond)
}
