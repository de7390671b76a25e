//go:build !linux

package server

import "net"

// Without Linux's accept4(2) and epoll there is no fast path
// (fastpath_linux.go): every connection is a net.Conn, greeted in a
// goroutine of its own with the write timeout, and closed with the
// lingering close of linger.go. docs/platforms.md says what differs.

// accepted is one connection.
type accepted struct {
	conn net.Conn
}

// newFastListener says there is no fast path here: ln keeps its own Accept.
func newFastListener(ln net.Listener, _ func()) (net.Listener, bool) {
	return ln, false
}

// acceptConn waits for a connection.
func acceptConn(ln net.Listener) (accepted, error) {
	conn, err := ln.Accept()
	return accepted{conn: conn}, err
}

// serveConn greets one connection whose slot is taken and which counts in
// s.inflight.
func (s *Server) serveConn(c accepted) {
	go s.greet(c.conn)
}

// lingerSet is the fast path's set of lingering sockets, which has none
// here: every lingering close is a connection's own (linger.go).
type lingerSet struct {
	closed func()
}

func (l *lingerSet) sweep() {}
func (l *lingerSet) stop()  {}

// lingerClosed is the linger set's word that it closed a socket; with no
// set it is never said.
func (s *Server) lingerClosed() {}
