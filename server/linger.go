package server

import (
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// Lingering close. The server closes first (the tutorial's active close,
// which leaves TIME_WAIT on the server), but it must not close while the
// peer may still send: Linux answers bytes that arrive for a closed socket,
// or are left unread in it, with a reset, and the peer's read then ends in
// "connection reset" instead of EOF. So the server sends its FIN, drops
// whatever the peer sends until the peer's FIN, then closes; bounded in
// time and bytes, so a peer that never closes costs little.
//
// A lingering socket holds no slot: the slot is freed once the greeting is
// written, so a silent peer delays nobody's greeting. Lingering sockets
// are bounded apart from the slots, in number (as many as -max-conns) and
// in time (lingerTimeout); past that number a close drops only what has
// already arrived and closes at once.
const (
	lingerTimeout = time.Second
	lingerMax     = 1 << 20 // bytes dropped before giving up: a flood gets its reset
)

// lingerers counts the lingering closes in progress.
type lingerers struct {
	n   atomic.Int64
	max int64
}

// close closes conn after the greeting: lingering while there is room,
// at once otherwise. It never waits for room.
func (l *lingerers) close(conn net.Conn) error {
	if l.n.Add(1) > l.max {
		l.n.Add(-1)
		return lingeringClose(conn, false)
	}
	defer l.n.Add(-1)
	return lingeringClose(conn, true)
}

// lingeringClose sends FIN, drops the peer's bytes and closes. With wait,
// it waits (without a goroutine of its own) up to lingerTimeout for the
// peer's FIN; a well-behaved peer closes right after reading the greeting,
// so this costs one round trip. Without wait it drops only the bytes that
// have already arrived.
func lingeringClose(conn net.Conn, wait bool) error {
	tc, ok := conn.(halfCloser)
	if !ok {
		return conn.Close()
	}
	if err := tc.CloseWrite(); err != nil {
		_ = conn.Close()
		return err
	}
	dropUntilFIN(conn, tc, wait)
	return conn.Close()
}

// halfCloser is a connection that can send its FIN and still read: a
// *net.TCPConn, or a fileSock of the fast path.
type halfCloser interface {
	CloseWrite() error
	SyscallConn() (syscall.RawConn, error)
	SetReadDeadline(time.Time) error
}
