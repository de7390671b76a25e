// Package flushwriter batches many small writes (log lines, JSON probe
// lines) into few write(2) calls: a busy server or load generator would
// otherwise spend as much on one write per line as on the work itself. A
// timer flushes what waits, and Close flushes the rest.
//
// Two buffers take turns: writers fill one while the other is being
// written, so a writer waits for the output only when both are full, and a
// lossy Writer never waits at all: what does not fit is dropped and
// counted. A failed write (ENOSPC, EIO, a closed pipe) loses only its own
// batch, counted the same way; the next flush tries again, unlike a
// bufio.Writer, whose first error silences it for good. A flush writes
// whole lines in pieces a pipe takes whole or not at all, so a reader
// never gets half a line and a loss is counted to the byte.
package flushwriter

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// Loss counts what a Writer could not write: lines (writes, for output
// that is not line-based) and bytes, and the last write error, nil when the
// output only stalled.
type Loss struct {
	Lines, Bytes int64
	Err          error
}

func (l *Loss) add(p []byte, err error) {
	l.Lines += int64(max(1, bytes.Count(p, []byte{'\n'})))
	l.Bytes += int64(len(p))
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) { // a deadline is a stall, no error
		l.Err = err
	}
}

// ErrStalled is what Close of a lossy Writer returns when the output did not
// take the rest within CloseTimeout.
var ErrStalled = errors.New("output stalled: the rest of the buffer was dropped")

// CloseTimeout bounds Close of a lossy Writer, whatever the output does.
const CloseTimeout = time.Second

// deadlineGrace is how long Close waits past the write deadline it set for
// the write to return before it gives up on it.
const deadlineGrace = 200 * time.Millisecond

// Writer is safe for concurrent use.
type Writer struct {
	out    io.Writer
	size   int
	lossy  bool
	report func(Loss)

	mu      sync.Mutex
	buf     []byte // filled by Write
	spare   []byte // the other buffer, nil while a flush writes it
	writing []byte // what a flush is writing now
	kicked  bool   // the flusher was asked to flush early
	// abandoned: Close gave up on the write under way and counted what
	// it had not written; the flusher counts nothing more.
	abandoned bool
	pending   Loss // lost since the last report
	total     Loss // lost over the Writer's life

	flushMu sync.Mutex // one write to out at a time, in order
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// New buffers up to size bytes for w and flushes them at least every
// interval. A writer that finds both buffers full waits for the output:
// nothing is dropped unless a write to w fails.
func New(w io.Writer, size int, interval time.Duration) *Writer {
	return newWriter(w, size, interval, false, nil)
}

// NewLossy is New for a log that must never hold up the work it records:
// a write that finds both buffers full (the output stalled, say a pipe
// nobody reads) is dropped and counted instead of waiting. After lines were
// lost, report is called with the count once a write succeeds again (from
// the flushing goroutine, with no lock held, so it may write to the
// Writer); Lost returns the count over the Writer's life.
func NewLossy(w io.Writer, size int, interval time.Duration, report func(Loss)) *Writer {
	return newWriter(w, size, interval, true, report)
}

func newWriter(w io.Writer, size int, interval time.Duration, lossy bool, report func(Loss)) *Writer {
	fw := &Writer{
		out: w, size: size, lossy: lossy, report: report,
		buf: make([]byte, 0, size), spare: make([]byte, 0, size),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go fw.loop(interval)
	return fw
}

// Write buffers p. It never fails: what cannot be written is counted.
func (fw *Writer) Write(p []byte) (int, error) {
	fw.mu.Lock()
	for len(fw.buf)+len(p) > fw.size && len(fw.buf) > 0 {
		if fw.lossy {
			fw.pending.add(p, nil)
			fw.total.add(p, nil)
			fw.kickLocked()
			fw.mu.Unlock()
			return len(p), nil
		}
		fw.mu.Unlock()
		fw.flush() // waits for the output
		fw.mu.Lock()
	}
	fw.buf = append(fw.buf, p...)
	if len(fw.buf) >= fw.size/2 {
		fw.kickLocked()
	}
	fw.mu.Unlock()
	return len(p), nil
}

// Kick asks the flusher to write what is buffered now rather than at the
// next tick, without waiting for it: for a line someone waits to see, such
// as a server's start line.
func (fw *Writer) Kick() {
	fw.mu.Lock()
	fw.kickLocked()
	fw.mu.Unlock()
}

// kickLocked asks the flusher to write now rather than at the next tick.
func (fw *Writer) kickLocked() {
	if !fw.kicked {
		fw.kicked = true
		select {
		case fw.kick <- struct{}{}:
		default:
		}
	}
}

func (fw *Writer) loop(interval time.Duration) {
	defer close(fw.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-fw.kick:
		case <-fw.stop:
			return
		}
		fw.flush()
	}
}

// Flush writes out what is buffered now. It returns the write's error;
// the batch it failed to write is counted as lost.
func (fw *Writer) Flush() error { return fw.flush() }

func (fw *Writer) flush() error {
	fw.flushMu.Lock()
	fw.mu.Lock()
	b := fw.buf
	fw.buf, fw.spare, fw.writing = fw.spare, nil, b
	fw.kicked = false
	fw.mu.Unlock()

	err := fw.write(b)

	fw.mu.Lock()
	var report Loss
	switch {
	case fw.abandoned:
		// Close gave up on this batch and counted what was left of it.
	case err != nil:
		fw.pending.add(fw.writing, err)
		fw.total.add(fw.writing, err)
	case len(b) > 0 && fw.pending.Lines > 0:
		report, fw.pending = fw.pending, Loss{}
	}
	fw.spare, fw.writing = b[:0], nil
	fw.mu.Unlock()
	fw.flushMu.Unlock()
	if report.Lines > 0 && fw.report != nil {
		fw.report(report)
	}
	return err
}

// write writes b in pieces of whole lines of at most pipeBuf bytes (a
// longer line is a piece of its own), and keeps fw.writing at what is not
// written yet. A pipe takes a write of up to pipeBuf bytes whole or not at
// all, so an output that stalls (a pipe nobody reads) never holds half a
// line, and what is left in fw.writing is exactly what it did not take.
func (fw *Writer) write(b []byte) error {
	for len(b) > 0 {
		piece := b[:linesUpTo(b, pipeBuf)]
		n, err := fw.out.Write(piece)
		if err == nil && n < len(piece) {
			err = io.ErrShortWrite
		}
		b = b[n:]
		fw.mu.Lock()
		abandoned := fw.abandoned
		if !abandoned {
			fw.writing = b
		}
		fw.mu.Unlock()
		if err != nil || abandoned {
			return err
		}
	}
	return nil
}

// linesUpTo is the length of the whole lines at the start of b that fit
// in limit bytes; of the first line alone, or all of b if it has no line
// end, when that line is longer.
func linesUpTo(b []byte, limit int) int {
	if len(b) <= limit {
		return len(b)
	}
	if i := bytes.LastIndexByte(b[:limit], '\n'); i >= 0 {
		return i + 1
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return i + 1
	}
	return len(b)
}

// Close stops the timer and flushes the rest; call it once. A lossy
// Writer gives up after CloseTimeout, counts what it could not write and
// returns ErrStalled: an exit must not wait on a stalled output. Where the
// output takes a write deadline (an *os.File the runtime polls, such as a
// non-blocking pipe), the deadline ends the write under way, so the count
// is exact to the byte; otherwise a write blocked in the kernel is left
// behind and counted as not written.
func (fw *Writer) Close() error {
	before := fw.Lost().Bytes
	close(fw.stop)
	flushed := make(chan error, 1)
	go func() {
		<-fw.done
		flushed <- fw.flush()
	}()
	if !fw.lossy {
		return <-flushed
	}
	// A deadline that works ends the write under way a little before the
	// timer; one that has no effect (a descriptor put in blocking mode by
	// os.File.Fd) leaves it to the timer.
	wait := CloseTimeout
	if d, ok := fw.out.(interface{ SetWriteDeadline(time.Time) error }); ok && d.SetWriteDeadline(time.Now().Add(CloseTimeout)) == nil {
		wait += deadlineGrace
	}
	select {
	case err := <-flushed:
		// The deadline may have ended the flusher's last write rather
		// than this one: any loss since Close began is the stall.
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			if fw.Lost().Bytes > before {
				return ErrStalled
			}
		}
		return err
	case <-time.After(wait):
		fw.mu.Lock()
		for _, b := range [][]byte{fw.writing, fw.buf} {
			if len(b) > 0 {
				fw.total.add(b, nil)
			}
		}
		fw.buf, fw.writing, fw.abandoned = fw.buf[:0], nil, true
		fw.mu.Unlock()
		return ErrStalled
	}
}

// Lost is what the Writer could not write over its life.
func (fw *Writer) Lost() Loss {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.total
}
