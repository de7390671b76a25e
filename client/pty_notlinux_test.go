//go:build !linux

package client

import (
	"os"
	"testing"
)

// openPTY opens a pseudo-terminal the Linux way (pty_linux_test.go);
// elsewhere the tests that need one skip.
func openPTY(t *testing.T) (ptm, pts *os.File) {
	t.Helper()
	t.Skip("opens a pseudo-terminal with Linux's TIOCSPTLCK and TIOCGPTN")
	return nil, nil
}
