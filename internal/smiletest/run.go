package smiletest

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// RunFunc is a program's Run: server.Run or client.Run.
type RunFunc func(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int

// Running is a program run in this process through its Run.
type Running struct {
	Out, Err *Buffer
	cancel   context.CancelFunc
	done     chan int
	code     int
	stopped  bool
}

// StartRun runs run with args (and no SMILE_* environment) and returns
// once its output holds ready, or it exited (Exited then says so). The
// program is stopped, as SIGTERM would, when the test ends.
func StartRun(t testing.TB, run RunFunc, ready string, args ...string) *Running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{Out: &Buffer{}, Err: &Buffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { r.done <- run(ctx, args, func(string) (string, bool) { return "", false }, r.Out, r.Err) }()
	t.Cleanup(func() { r.Stop() })
	deadline := time.After(10 * time.Second)
	for !strings.Contains(r.Out.String(), ready) {
		select {
		case r.code = <-r.done:
			r.stopped = true
			cancel()
			return r
		case <-deadline:
			cancel()
			t.Fatalf("%v did not start: %s", args, r.Err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	return r
}

// Exited reports whether the program has exited, with its exit code.
func (r *Running) Exited() (code int, exited bool) { return r.code, r.stopped }

// Stop cancels the program's context and returns its exit code (-1 if it
// did not exit within 20 seconds).
func (r *Running) Stop() int {
	if r.stopped {
		return r.code
	}
	r.cancel()
	select {
	case r.code = <-r.done:
	case <-time.After(20 * time.Second):
		r.code = -1
	}
	r.stopped = true
	return r.code
}
