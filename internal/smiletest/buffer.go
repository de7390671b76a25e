package smiletest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer is an output that tests read while a process or goroutine
// writes it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// LogLines returns the lines of a text log without their timestamp and
// level.
func (s *Buffer) LogLines() []string {
	var out []string
	for _, line := range strings.Split(s.String(), "\n") {
		if f := strings.SplitN(line, " ", 3); len(f) == 3 {
			out = append(out, f[2])
		}
	}
	return out
}

// WaitFor waits up to timeout until the output contains substr.
func (s *Buffer) WaitFor(t testing.TB, substr string, timeout time.Duration) bool {
	t.Helper()
	return s.WaitCount(substr, 1, timeout) >= 1
}

// WaitCount waits up to timeout until the output holds at least n
// occurrences of substr, and returns how many it holds.
func (s *Buffer) WaitCount(substr string, n int, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		got := strings.Count(s.String(), substr)
		if got >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}
