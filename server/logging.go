package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/smile-sockets/smile/internal/flushwriter"
)

// flushEvery bounds how stale the log on disk or in `docker logs` can be.
const flushEvery = 100 * time.Millisecond

// logBuffer is the size of each of the log's two buffers: what the log
// holds while stdout does not move, before it drops lines. 256 KiB is
// some 3000 lines, 30 ms of a very busy server.
const logBuffer = 256 << 10

// newLog returns the server's logger on stdout, which never makes a
// greeting wait: when stdout stalls (a pipe nobody reads, a log driver that
// blocks) lines that do not fit are dropped and counted, the count is
// logged once stdout moves again, and close says it on stderr. flush
// writes what is logged now without waiting for the next tick or for
// stdout: the start lines, which health checks and scripts wait for.
// lost counts the lines dropped so far, for /metrics.
func newLog(stdout, stderr io.Writer, format string) (log *slog.Logger, flush func(), lost func() uint64, close func()) {
	out := pollableStdout(stdout)
	lw := flushwriter.NewLossy(out, logBuffer, flushEvery, func(l flushwriter.Loss) {
		log.Warn("log lines dropped: stdout did not take them", lossAttrs(l)...)
	})
	log = NewLogger(lw, format)
	lost = func() uint64 { return uint64(lw.Lost().Lines) }
	return log, lw.Kick, lost, func() {
		_ = lw.Close()
		if c, ok := out.(io.Closer); ok && out != stdout {
			_ = c.Close() // the descriptor pollableStdout opened
		}
		if l := lw.Lost(); l.Lines > 0 {
			msg := fmt.Sprintf("smile-server: %d log lines (%d bytes) dropped: stdout did not take them", l.Lines, l.Bytes)
			if l.Err != nil {
				msg += fmt.Sprintf(" (last error: %v)", l.Err)
			}
			writeBounded(stderr, msg+"\n", flushwriter.CloseTimeout)
		}
	}
}

func lossAttrs(l flushwriter.Loss) []any {
	attrs := []any{"lines", l.Lines, "bytes", l.Bytes}
	if l.Err != nil {
		attrs = append(attrs, "err", l.Err)
	}
	return attrs
}

// writeBounded writes msg to w but waits at most d: Docker sends stderr to
// the same log driver as stdout, so it may be stalled too, and an exit must
// not wait on it.
func writeBounded(w io.Writer, msg string, d time.Duration) {
	done := make(chan struct{})
	go func() {
		_, _ = io.WriteString(w, msg)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// NewLogger returns the server's logger: the tutorial's words as plain
// lines, or one JSON object a line for log pipelines.
func NewLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(&textHandler{w: w, mu: &sync.Mutex{}})
}

// textHandler prints "TIME LEVEL message key=value ...", with the message
// unquoted so that the log reads like the tutorial's server output. The
// connection lines carry their fields in the message already, so INFO
// records print the message alone.
type textHandler struct {
	w     io.Writer
	mu    *sync.Mutex
	attrs []slog.Attr
}

func (h *textHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &textHandler{w: h.w, mu: h.mu, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], as...)}
}

func (h *textHandler) WithGroup(string) slog.Handler { return h }

// lineBufs holds line buffers between log lines: a busy server writes one
// line per connection, and the writers below copy what they are given.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// maxPooledLine keeps a rare huge line from pinning its buffer.
const maxPooledLine = 4 << 10

func (h *textHandler) write(bp *[]byte, b []byte) error {
	h.mu.Lock()
	_, err := h.w.Write(b)
	h.mu.Unlock()
	if cap(b) <= maxPooledLine {
		*bp = b[:0]
		lineBufs.Put(bp)
	}
	return err
}

func appendHead(b []byte, t time.Time, level slog.Level) []byte {
	b = appendStamp(b, t)
	b = append(b, ' ')
	b = append(b, level.String()...)
	return append(b, ' ')
}

// stampFormat is the log's time: UTC, milliseconds.
const stampFormat = "2006-01-02T15:04:05.000Z07:00"

// secondStamp is the log's time up to the second, "2006-01-02T15:04:05.",
// formatted once a second instead of for every line: formatting the whole
// time cost a fifth of a greeting's user-space instructions.
type secondStamp struct {
	unix   int64
	prefix []byte
}

var lastSecond atomic.Pointer[secondStamp]

// appendStamp appends t as stampFormat does, byte for byte.
func appendStamp(b []byte, t time.Time) []byte {
	t = t.UTC()
	s := lastSecond.Load()
	if s == nil || s.unix != t.Unix() {
		s = &secondStamp{unix: t.Unix(), prefix: t.AppendFormat(nil, "2006-01-02T15:04:05.")}
		lastSecond.Store(s)
	}
	b = append(b, s.prefix...)
	ms := t.Nanosecond() / int(time.Millisecond) // truncated, as the format does
	return append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// writeConn writes the line Server.logConn describes, "Connection received
// from NAME (ADDR)", byte for byte as Handle would print that record.
// peer must have no zone.
func (h *textHandler) writeConn(at time.Time, peer netip.AddrPort, name string) error {
	return h.writePeer(at, "Connection received from ", peer, name)
}

// writePeer writes "WHAT NAME (ADDR)" as writeConn describes it, for a
// connection's line and a datagram's alike.
func (h *textHandler) writePeer(at time.Time, what string, peer netip.AddrPort, name string) error {
	bp := lineBufs.Get().(*[]byte)
	b := appendHead(*bp, at, slog.LevelInfo)
	b = append(b, what...)
	if name == "" {
		b = peer.Addr().AppendTo(b)
	} else {
		b = appendSafe(b, name)
	}
	b = append(b, " ("...)
	b = peer.Addr().AppendTo(b)
	b = append(b, ")\n"...)
	return h.write(bp, b)
}

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	bp := lineBufs.Get().(*[]byte)
	b := appendHead(*bp, r.Time, r.Level)
	b = appendSafe(b, r.Message)
	if r.Level > slog.LevelInfo {
		add := func(a slog.Attr) bool {
			b = append(b, ' ')
			b = append(b, a.Key...)
			b = append(b, '=')
			v := a.Value.Resolve().String()
			if needsQuote(v) {
				b = strconv.AppendQuote(b, v)
			} else {
				b = append(b, v...)
			}
			return true
		}
		for _, a := range h.attrs {
			add(a)
		}
		r.Attrs(add)
	}
	b = append(b, '\n')
	return h.write(bp, b)
}

// appendSafe appends s with control bytes escaped, so nothing a peer or a
// resolver controls can start a new line or move the cursor.
func appendSafe(b []byte, s string) []byte {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			b = strconv.AppendQuoteRuneToASCII(b, r)
			continue
		}
		b = utf8.AppendRune(b, r)
	}
	return b
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r <= ' ' || r == '"' || r == '=' || r >= utf8.RuneSelf {
			return true
		}
	}
	return false
}
