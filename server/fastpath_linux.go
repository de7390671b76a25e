package server

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The fast path. A greeting is a write into the empty send buffer of a new
// connection, and then a close, so for a TCP listener the accept loop does
// it in place with the system calls of sys_linux.go: accept4(2), one
// send(2) that completes at once, shutdown(2) for the FIN, and a hand-over
// to the linger set (lingerset_linux.go), which closes the socket at the peer's
// FIN. No goroutine, netpoller registration or timer per connection, and
// none of the keep-alive, no-delay and getsockname calls of net's Accept.
// A greeting the send buffer cannot take at once (a large -greeting, a
// peer with a tiny window) goes on the ordinary way, with the write
// timeout, in a goroutine of its own.

// fastListener is a TCP listener whose connections the accept loop takes
// with accept4(2). net's TCPListener cannot wait for readiness on behalf
// of such a call, so fastListener holds a descriptor of its own for the
// listening socket, which the netpoller waits on; its deadline, Close and
// socket options (the drain's) reach the socket through that descriptor.
type fastListener struct {
	net.Listener // the one handed to Serve: Addr, and closed with this one
	f            *os.File
	raw          syscall.RawConn
	closed       atomic.Bool
	deadline     atomic.Bool // a deadline is set: the drain's idle window
	// idle runs each time the accept queue is empty: the linger sweep.
	idle func()

	// What one accept found, and tryAccept bound once, so that waiting
	// for a connection allocates nothing; only the accept loop uses them.
	got    accepted
	gotErr error
	try    func(fd uintptr) bool
}

// newFastListener wraps a TCP listener; ok is false for any other
// listener, which keeps its own Accept, and for one with SO_LINGER set
// (lingers), whose sockets' close may wait.
func newFastListener(ln net.Listener, idle func()) (l *fastListener, ok bool) {
	tl, isTCP := ln.(*net.TCPListener)
	if !isTCP || lingers(tl) {
		return nil, false
	}
	f, err := dupSocket(tl)
	if err != nil {
		return nil, false
	}
	raw, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, false
	}
	l = &fastListener{Listener: ln, f: f, raw: raw, idle: idle}
	l.try = l.tryAccept
	return l, true
}

// accepted is one connection: a socket of the fast path, or a net.Conn.
type accepted struct {
	fd   int // -1 with conn
	peer netip.AddrPort
	conn net.Conn
}

// acceptConn waits for a connection: a socket of the fast path from a
// fastListener, a net.Conn from any other listener.
func acceptConn(ln net.Listener) (accepted, error) {
	if l, ok := ln.(*fastListener); ok {
		return l.accept()
	}
	conn, err := ln.Accept()
	return accepted{fd: -1, conn: conn}, err
}

// accept waits for a connection like net.Listener's Accept, with its
// errors: the deadline and Close end the wait.
func (l *fastListener) accept() (accepted, error) {
	l.got, l.gotErr = accepted{fd: -1}, nil
	took := false
	var err error
	if l.deadline.Load() {
		// A deadline that has passed ends Read before its first accept4:
		// take what the kernel has queued first, so that the drain's idle
		// window, however small, governs only handshakes still to come.
		err = l.raw.Control(func(fd uintptr) { took = l.try(fd) })
	}
	if !took && err == nil {
		err = l.raw.Read(l.try)
	}
	switch {
	case err == nil:
		err = l.gotErr
	case l.closed.Load():
		err = net.ErrClosed
	}
	if err != nil {
		return l.got, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: err}
	}
	return l.got, nil
}

// tryAccept is the netpoller's callback: it takes a connection, or says
// that the queue is empty (false: wait for readiness), and sweeps the
// linger set while the queue is empty.
func (l *fastListener) tryAccept(lfd uintptr) bool {
	for {
		fd, peer, err := acceptRaw(int(lfd))
		switch {
		case err == nil:
			l.got.fd, l.got.peer = fd, peer
			return true
		case errors.Is(err, unix.EAGAIN):
			l.idle()
			return false
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.ECONNABORTED):
			continue // as net's Accept: a peer that gave up in the queue is no error
		}
		l.gotErr = os.NewSyscallError("accept4", err)
		return true
	}
}

// Accept is accept for callers that want a net.Conn.
func (l *fastListener) Accept() (net.Conn, error) {
	c, err := l.accept()
	if err != nil {
		return nil, err
	}
	return newFileSock(c.fd, c.peer), nil
}

// SetDeadline bounds the wait of accept.
func (l *fastListener) SetDeadline(t time.Time) error {
	l.deadline.Store(!t.IsZero())
	return l.f.SetReadDeadline(t)
}

// SyscallConn reaches the listening socket, for its options.
func (l *fastListener) SyscallConn() (syscall.RawConn, error) { return l.raw, nil }

// Close closes both descriptors of the socket, which stops listening.
func (l *fastListener) Close() error {
	l.closed.Store(true)
	_ = l.f.Close()
	return l.Listener.Close()
}

// serveConn greets one connection whose slot is taken and which counts
// in s.inflight: in place on the fast path, in a goroutine otherwise.
func (s *Server) serveConn(c accepted) {
	if c.conn != nil {
		go s.greet(c.conn)
		return
	}
	defer s.inflight.Done()
	at := time.Now()
	n, err := sendRaw(c.fd, s.greeting)
	if err == nil && n < len(s.greeting) {
		// The send buffer took only part: write the rest with the
		// netpoller and the write deadline, as any other connection.
		conn := newFileSock(c.fd, c.peer)
		s.inflight.Add(1)
		go s.finishGreet(conn, at, c.peer, n)
		return
	}
	s.tcp.slots.release() // the greeting is written (or failed): the slot is free
	// The room to linger is taken before the FIN, as lingerers.close does:
	// a peer that has seen its EOF finds the count already up, so the next
	// peer of another accept loop cannot linger past -max-conns.
	room := false
	if err == nil {
		if room = s.tcp.lingering.n.Add(1) <= s.tcp.lingering.max; !room {
			s.tcp.lingering.n.Add(-1)
		}
		err = shutdownRaw(c.fd)
	}
	if err != nil {
		if room {
			s.tcp.lingering.n.Add(-1)
		}
		closeRaw(c.fd)
		s.logGreeting(at, c.peer, n, &net.OpError{Op: "write", Net: "tcp", Addr: net.TCPAddrFromAddrPort(c.peer), Err: err})
		return
	}
	s.linger(c.fd, at, room)
	s.logGreeting(at, c.peer, n, nil)
}

// linger hands fd, greeted and half-closed, to the linger set when it had
// room (as many sockets as -max-conns, like the other lingering closes),
// and otherwise drops what the peer sent and closes at once.
func (s *Server) linger(fd int, now time.Time, room bool) {
	if !room {
		dropRaw(fd, lingerMax)
		closeRaw(fd)
		return
	}
	s.inflight.Add(1) // Wait waits for the linger too
	s.tcp.lingerSet.add(fd, now)
}

// lingerClosed is the linger set's word that it closed a socket.
func (s *Server) lingerClosed() {
	s.tcp.lingering.n.Add(-1)
	s.inflight.Done()
}

// fileSock is a socket of the fast path that needs the netpoller after
// all: a greeting the send buffer could not take at once. An os.File over
// the same descriptor waits with the netpoller and keeps deadlines, and
// unlike net.FileConn it needs no second descriptor, which a server out of
// descriptors could not get.
type fileSock struct {
	*os.File
	peer netip.AddrPort
}

func newFileSock(fd int, peer netip.AddrPort) *fileSock {
	return &fileSock{File: os.NewFile(uintptr(fd), "tcp "+peer.String()), peer: peer}
}

func (c *fileSock) LocalAddr() net.Addr  { return nil }
func (c *fileSock) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.peer) }

// CloseWrite sends the FIN.
func (c *fileSock) CloseWrite() error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	if cerr := raw.Control(func(fd uintptr) { err = shutdownRaw(int(fd)) }); cerr != nil {
		return cerr
	}
	return err
}
