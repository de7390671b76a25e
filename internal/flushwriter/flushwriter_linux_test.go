package flushwriter

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestLossyCountsExactlyWhatAPipeTook: a pipe nobody reads takes part of
// what is flushed (its 64 KiB) and then nothing. Close must count exactly
// what the pipe did not take, and the pipe must hold whole lines only,
// whether the runtime polls the pipe (and can end the write with a
// deadline) or the write blocks in the kernel.
func TestLossyCountsExactlyWhatAPipeTook(t *testing.T) {
	for _, c := range []struct {
		name string
		pipe func(t *testing.T) (r, w *os.File)
	}{
		{"polled", func(t *testing.T) (r, w *os.File) {
			r, w, err := os.Pipe()
			require.NoError(t, err)
			return r, w
		}},
		{"blocking", func(t *testing.T) (r, w *os.File) {
			var p [2]int
			require.NoError(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
			return os.NewFile(uintptr(p[0]), "r"), os.NewFile(uintptr(p[1]), "w")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, w := c.pipe(t)
			t.Cleanup(func() { _ = r.Close(); _ = w.Close() })
			fw := NewLossy(w, 256<<10, time.Hour, nil)
			line := []byte(strings.Repeat("z", 99) + "\n")
			const lines = 5000
			for range lines {
				_, _ = fw.Write(line)
			}
			require.ErrorIs(t, fw.Close(), ErrStalled)
			// What the pipe holds, counted without reading: a read would
			// make room for a write left blocked in the kernel (as at
			// the exit of a process nobody reads).
			rfd := int(r.Fd())
			held, err := unix.IoctlGetInt(rfd, unix.TIOCINQ) // FIONREAD
			require.NoError(t, err)
			require.NotZero(t, held, "the pipe took its part")
			lost := fw.Lost()
			assert.Equal(t, int64(lines*100-held), lost.Bytes, "bytes not written")
			assert.Equal(t, int64(lines-held/100), lost.Lines, "lines not written")
			assert.NoError(t, lost.Err, "a stall is not an error")
			got := make([]byte, held)
			_, err = io.ReadFull(r, got)
			require.NoError(t, err)
			assert.Equal(t, byte('\n'), got[held-1], "whole lines only")
		})
	}
}
