package server

import (
	"log/slog"
	"net"
	"sync"
	"time"
)

// DefaultDrainIdle is how long a stopping server keeps accepting after the
// last connection it took (-drain-idle). A client whose SYN was answered
// just before the stop completes its handshake one round trip later, and
// the listener must still be open then or the client is reset after its
// connect succeeded. One second covers any terrestrial round trip and a
// satellite hop with room; the cost is that a stop takes that long.
const DefaultDrainIdle = time.Second

// drainLimit bounds a drain that can neither hold off new peers nor tell
// how many were queued; it does not apply otherwise, since every queued
// connection must be served however long that takes.
const drainLimit = time.Second

// drainMode is how a listener decides that its queue has been served.
type drainMode int

const (
	serving    drainMode = iota // not stopping: accept for ever
	untilIdle                   // new SYNs are dropped: accept until the queue stays empty for the idle window
	queuedOnly                  // no SYN filter: accept exactly the connections queued when the stop began
	untilLimit                  // no SYN filter, queue length unknown: accept until idle, at most drainLimit
)

// drain is the stopping state of one listener, shared by its accept loop
// and the context's stop callback.
type drain struct {
	ln   net.Listener
	idle time.Duration

	mu     sync.Mutex
	mode   drainMode
	left   int       // queuedOnly: accepts still owed
	owed   bool      // queuedOnly: the accept under way was armed by next in that mode
	giveUp time.Time // untilLimit: the end, whatever is left
}

// begin switches from serving to the drain: it holds off new handshakes
// with a socket filter where the socket takes one, or else counts what is
// queued now.
func (d *drain) begin(log *slog.Logger) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mode = untilIdle
	if err := dropNewSYNs(d.ln); err != nil {
		// Without the filter (an MPTCP socket, a kernel or sandbox that
		// refuses it) new peers keep joining the queue: serve exactly the
		// connections queued now, then close; if even their number is
		// unknown, stop after drainLimit.
		d.mode, d.left = queuedOnly, queueLen(d.ln)
		if d.left < 0 {
			d.mode, d.giveUp = untilLimit, time.Now().Add(drainLimit)
		}
		log.Warn("can't hold off new connections while draining; serving those already queued",
			"listen", d.ln.Addr().String(), "queued", d.left, "err", err)
	}
	setDeadline(d.ln, time.Now().Add(max(d.idle, acceptFloor)))
}

// next says whether to accept once more, and arms the idle window.
func (d *drain) next() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.owed = d.mode == queuedOnly
	switch d.mode {
	case serving:
		return true
	case queuedOnly:
		if d.left <= 0 {
			return false
		}
	case untilLimit:
		if !time.Now().Before(d.giveUp) {
			return false
		}
	}
	setDeadline(d.ln, time.Now().Add(max(d.idle, acceptFloor)))
	return true
}

// accepted counts a connection taken: only a successful accept uses up
// what the drain owes, so a failed one cannot cost a queued peer its
// greeting; and only one armed after the count was taken, since a
// connection accepted just before begin counted the queue is not in that
// count. (An accept armed just before begin may take a counted peer and
// not be counted: the drain then accepts once more, until the idle
// window, which costs at most that window.)
func (d *drain) accepted() {
	d.mu.Lock()
	if d.owed {
		d.left--
	}
	d.mu.Unlock()
}

// acceptFloor is the shortest idle window a drain arms. An accept that
// finds a connection queued returns at once, but the net package checks
// the deadline before it asks the kernel, so a shorter window could pass
// before that check and abandon a full queue (the net path of
// TestTinyDrainIdleServesTheQueue: 0 of 20 greeted at 1 ns and 1 µs).
// A longer wait for the CPU can still outlast it, which Serve checks with
// pending.
const acceptFloor = 5 * time.Millisecond

func setDeadline(ln net.Listener, t time.Time) {
	if d, ok := ln.(interface{ SetDeadline(time.Time) error }); ok {
		_ = d.SetDeadline(t)
	}
}
