// Package flushwriter batches many small writes (log lines, JSON probe
// lines) into few write(2) calls: a busy server or load generator would
// otherwise spend as much on one write per line as on the work itself.
// Nothing is dropped: a timer flushes what waits, and Close flushes the
// rest.
package flushwriter

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Writer is safe for concurrent use.
type Writer struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// New buffers up to size bytes for w and flushes them at least every
// interval, so output is never staler than that.
func New(w io.Writer, size int, interval time.Duration) *Writer {
	fw := &Writer{buf: bufio.NewWriterSize(w, size), stop: make(chan struct{}), done: make(chan struct{})}
	go fw.loop(interval)
	return fw
}

func (fw *Writer) Write(p []byte) (int, error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.buf.Write(p)
}

func (fw *Writer) loop(interval time.Duration) {
	defer close(fw.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = fw.Flush()
		case <-fw.stop:
			return
		}
	}
}

// Flush writes out what is buffered now.
func (fw *Writer) Flush() error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.buf.Flush()
}

// Close stops the timer and flushes the rest; call it once.
func (fw *Writer) Close() error {
	close(fw.stop)
	<-fw.done
	return fw.Flush()
}
