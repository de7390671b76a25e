package flushwriter

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	n  int // write calls
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return s.b.Write(p)
}

func (s *syncBuffer) snapshot() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.n
}

func TestBatchesAndFlushesOnTimerAndClose(t *testing.T) {
	var out syncBuffer
	fw := New(&out, 4096, 50*time.Millisecond)
	for range 100 {
		_, err := fw.Write([]byte("line\n"))
		require.NoError(t, err)
	}
	got, _ := out.snapshot()
	assert.Empty(t, got, "nothing is written before the timer")
	require.Eventually(t, func() bool { s, _ := out.snapshot(); return len(s) == 500 }, 2*time.Second, 5*time.Millisecond)
	_, calls := out.snapshot()
	assert.Equal(t, 1, calls, "100 lines, one write")

	_, _ = fw.Write([]byte("last\n"))
	require.NoError(t, fw.Close())
	got, _ = out.snapshot()
	assert.Equal(t, 505, len(got), "Close flushes the rest")
	assert.Equal(t, "last\n", got[500:])
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	var out syncBuffer
	fw := New(&out, 512, time.Millisecond)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				_, _ = fw.Write([]byte("0123456789\n"))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, fw.Close())
	got, _ := out.snapshot()
	assert.Len(t, got, 8*1000*11)
}

// failing fails its first n writes with ENOSPC, as a full disk does, then
// works again (space freed).
type failing struct {
	syncBuffer
	n int
}

func (f *failing) Write(p []byte) (int, error) {
	f.mu.Lock()
	if f.n > 0 {
		f.n--
		f.mu.Unlock()
		return 0, syscall.ENOSPC
	}
	f.mu.Unlock()
	return f.syncBuffer.Write(p)
}

// TestAWriteErrorIsNotSticky: a failed write loses its own batch, counted,
// and the lines after it are written once the output works again; the
// loss is reported when it does.
func TestAWriteErrorIsNotSticky(t *testing.T) {
	for _, lossy := range []bool{false, true} {
		t.Run(fmt.Sprintf("lossy=%v", lossy), func(t *testing.T) {
			out := &failing{n: 1}
			reports := make(chan Loss, 1)
			fw := New(out, 4096, time.Hour)
			if lossy {
				fw = NewLossy(out, 4096, time.Hour, func(l Loss) { reports <- l })
			}
			_, _ = fw.Write([]byte("lost one\nlost two\n"))
			assert.ErrorIs(t, fw.Flush(), syscall.ENOSPC)
			_, _ = fw.Write([]byte("after\n"))
			require.NoError(t, fw.Flush(), "the next flush tries again")
			require.NoError(t, fw.Close())
			got, _ := out.snapshot()
			assert.Equal(t, "after\n", got)
			assert.Equal(t, Loss{Lines: 2, Bytes: 18, Err: syscall.ENOSPC}, fw.Lost())
			if lossy {
				assert.Equal(t, Loss{Lines: 2, Bytes: 18, Err: syscall.ENOSPC}, <-reports, "reported once output moved again")
			}
		})
	}
}

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

// TestLossyNeverWaitsForAStalledOutput: with a pipe nobody reads, writes
// return at once, what does not fit is counted, and once the reader comes
// back the loss is reported, every line of it.
func TestLossyNeverWaitsForAStalledOutput(t *testing.T) {
	r, w := stalledPipe(t)
	var mu sync.Mutex
	var reported int64
	fw := NewLossy(w, 4096, 10*time.Millisecond, func(l Loss) { mu.Lock(); reported += l.Lines; mu.Unlock() })
	line := []byte(strings.Repeat("x", 99) + "\n")
	const lines = 20000 // 2 MB: far more than both buffers hold
	start := time.Now()
	for range lines {
		_, err := fw.Write(line)
		require.NoError(t, err)
	}
	assert.Less(t, time.Since(start), time.Second, "no write waited for the pipe")
	lost := fw.Lost()
	assert.GreaterOrEqual(t, lost.Lines, int64(lines-2*4096/100), "all but what both buffers hold was dropped")
	assert.Equal(t, lost.Lines*100, lost.Bytes)
	assert.NoError(t, lost.Err, "a stall is not an error")

	go func() { _, _ = io.Copy(io.Discard, r) }() // the reader comes back
	assert.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return reported == lost.Lines }, 5*time.Second, 5*time.Millisecond,
		"the reports count every dropped line")
	require.NoError(t, fw.Close())
}

// TestLossyCloseIsBounded: Close returns within CloseTimeout even when
// the output never takes another byte, and counts what it dropped.
func TestLossyCloseIsBounded(t *testing.T) {
	_, w := stalledPipe(t)
	fw := NewLossy(w, 4096, 10*time.Millisecond, nil)
	for range 2000 {
		_, _ = fw.Write([]byte(strings.Repeat("y", 99) + "\n"))
	}
	start := time.Now()
	assert.ErrorIs(t, fw.Close(), ErrStalled)
	assert.Less(t, time.Since(start), CloseTimeout+500*time.Millisecond)
	assert.Equal(t, Loss{Lines: 2000, Bytes: 2000 * 100}, fw.Lost(), "nothing got through, and all of it is counted")
}

func TestLinesUpTo(t *testing.T) {
	for _, c := range []struct {
		in    string
		limit int
		want  int
	}{
		{"ab\ncd\n", 10, 6},
		{"ab\ncd\nef\n", 7, 6},
		{"ab\ncd\nef\n", 5, 3},
		{"abcdef\ngh\n", 4, 7}, // a line longer than the limit goes alone
		{"abcdefgh", 4, 8},     // no line end at all: everything
	} {
		assert.Equal(t, c.want, linesUpTo([]byte(c.in), c.limit), "%q limit %d", c.in, c.limit)
	}
}

// TestKickWritesBeforeTheTick: Kick has what is buffered written now, not
// at the next tick, and does not wait for it.
func TestKickWritesBeforeTheTick(t *testing.T) {
	var out syncBuffer
	fw := New(&out, 4096, time.Hour)
	_, _ = fw.Write([]byte("started\n"))
	fw.Kick()
	require.Eventually(t, func() bool { s, _ := out.snapshot(); return s == "started\n" }, 2*time.Second, time.Millisecond)
	require.NoError(t, fw.Close())
}
