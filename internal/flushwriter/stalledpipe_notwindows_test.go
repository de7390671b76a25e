//go:build !windows

package flushwriter

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// stalledPipe is a pipe whose buffer is already full and that nobody
// reads: the next write(2) to w blocks.
func stalledPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close(); _ = w.Close() })
	fd := int(w.Fd())
	require.NoError(t, unix.SetNonblock(fd, true))
	junk := make([]byte, 4096)
	for {
		if _, err := unix.Write(fd, junk); err != nil {
			require.ErrorIs(t, err, unix.EAGAIN)
			break
		}
	}
	require.NoError(t, unix.SetNonblock(fd, false))
	return r, w
}
