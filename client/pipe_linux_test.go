package client

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// waitPipeFull waits until a pipe's writer has filled it: what the pipe
// holds (TIOCINQ, Linux's FIONREAD) stops growing. Waited for, not slept
// on: an emulated writer (make unit-arm64) is slower than any fixed wait.
func waitPipeFull(t *testing.T, r *os.File) {
	t.Helper()
	held := func() int {
		n, err := unix.IoctlGetInt(int(r.Fd()), unix.TIOCINQ)
		require.NoError(t, err)
		return n
	}
	require.Eventually(t, func() bool {
		before := held()
		time.Sleep(200 * time.Millisecond)
		return before >= 4096 && held() == before
	}, 20*time.Second, 10*time.Millisecond, "the pipe never filled")
}
