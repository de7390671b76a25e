package flushwriter

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
