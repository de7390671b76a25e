package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// drainIdle is how long a stopping server keeps accepting after the last
// queued connection: long enough for handshakes already answered to
// complete (a LAN or loopback round trip), short enough to stop quickly.
const drainIdle = 100 * time.Millisecond

// drainLimit bounds a drain that can neither hold off new peers nor tell
// how many were queued; it does not apply otherwise, since every queued
// connection must be served however long that takes.
const drainLimit = time.Second

// Server greets every connection from any number of listeners. Serving is
// kept apart from listening so that tests hand in a listener of their own.
type Server struct {
	greeting     []byte
	writeTimeout time.Duration
	log          *slog.Logger
	text         *textHandler // log's handler when it is the text form, for the fast line
	names        *namer       // nil: log addresses only
	slots        chan struct{}
	inflight     sync.WaitGroup
}

// Options say how a Server greets. A zero field takes the default of the
// smile-server flag of the same name, so Options{} is the tutorial's server.
type Options struct {
	Greeting       []byte        // written to every peer; -greeting
	WriteTimeout   time.Duration // bound on writing one greeting; -write-timeout
	MaxConns       int           // peers in service at once; -max-conns
	Resolver       *net.Resolver // names peers for the log; nil logs addresses only
	ResolveTimeout time.Duration // bound on one reverse lookup; -resolve-timeout
}

// Defaults of Options, and of the smile-server flags that set them.
const (
	DefaultGreeting       = "Smile from the server"
	DefaultWriteTimeout   = 5 * time.Second
	DefaultMaxConns       = 1024
	DefaultResolveTimeout = 2 * time.Second
)

// New makes a server that logs each connection to log. The server owns its
// reverse lookups, so Wait covers them too.
func New(o Options, log *slog.Logger) *Server {
	if len(o.Greeting) == 0 {
		o.Greeting = []byte(DefaultGreeting)
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.ResolveTimeout <= 0 {
		o.ResolveTimeout = DefaultResolveTimeout
	}
	text, _ := log.Handler().(*textHandler)
	s := &Server{
		text:         text,
		greeting:     o.Greeting,
		writeTimeout: o.WriteTimeout,
		log:          log,
		slots:        make(chan struct{}, o.MaxConns),
	}
	if o.Resolver != nil {
		s.names = newNamer(o.Resolver, o.ResolveTimeout)
	}
	return s
}

// Serve accepts on ln until ctx is done, then stops new handshakes, serves
// what the kernel had queued, closes ln and returns. Greetings still being
// written continue; Wait waits for them.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var (
		mu       sync.Mutex
		draining bool
		budget   = -1      // accepts left in the drain; -1: until the queue is idle
		giveUp   time.Time // non-zero: end the drain then, whatever is left
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		draining = true
		if err := dropNewSYNs(ln); err != nil {
			// Without the filter (an MPTCP socket, a kernel or sandbox that
			// refuses it) new peers keep joining the queue: serve exactly
			// the connections queued now, then close; if even their number
			// is unknown, stop after drainLimit.
			budget = queueLen(ln)
			if budget < 0 {
				giveUp = time.Now().Add(drainLimit)
			}
			s.log.Warn("can't hold off new connections while draining; serving those already queued",
				"listen", ln.Addr().String(), "queued", budget, "err", err)
		}
		setDeadline(ln, time.Now().Add(drainIdle))
	})
	defer stop()
	defer ln.Close()

	var backoff time.Duration
	for {
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			// Every slot is busy and we are stopping: wait for one, so the
			// queue is still served.
			s.slots <- struct{}{}
		}
		mu.Lock()
		if draining {
			if budget == 0 || !giveUp.IsZero() && time.Now().After(giveUp) {
				mu.Unlock()
				<-s.slots
				return nil
			}
			if budget > 0 {
				budget--
			}
			setDeadline(ln, time.Now().Add(drainIdle))
		}
		mu.Unlock()
		conn, err := ln.Accept()
		if err != nil {
			<-s.slots
			if ctx.Err() != nil {
				if isTimeout(err) || errors.Is(err, net.ErrClosed) {
					return nil
				}
			}
			if isTemporary(err) {
				// Out of descriptors or a peer gave up in the queue: back
				// off like net/http instead of spinning on the error.
				if backoff == 0 {
					backoff = 5 * time.Millisecond
				} else {
					backoff = min(2*backoff, time.Second)
				}
				s.log.Warn("accept failed, retrying", "listen", ln.Addr().String(), "err", err, "retry_in", backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
				}
				continue
			}
			return err
		}
		backoff = 0
		s.inflight.Add(1)
		go s.greet(conn)
	}
}

// Wait waits for the greetings in progress, each bounded by the write
// timeout and the lingering close, and then for the reverse lookups that
// will log them, each bounded by the resolve timeout.
func (s *Server) Wait() {
	s.inflight.Wait()
	if s.names != nil {
		s.names.wait()
	}
}

// greet is the whole protocol: write, close, then (off the critical path)
// name the peer for the log.
func (s *Server) greet(conn net.Conn) {
	defer s.inflight.Done()
	at := time.Now()
	peer := peerAddr(conn.RemoteAddr())
	_ = conn.SetWriteDeadline(at.Add(s.writeTimeout))
	n, werr := conn.Write(s.greeting)
	var cerr error
	if werr == nil {
		cerr = lingeringClose(conn)
	} else {
		cerr = conn.Close()
	}
	<-s.slots
	if werr == nil && cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		werr = cerr
	}
	if werr != nil {
		s.log.Warn("greeting failed", "peer", peer.Addr().String(), "port", peer.Port(), "written", n, "err", werr)
		return
	}
	if s.names == nil {
		s.logConn(at, peer, "")
		return
	}
	// A busy server mostly sees peers it has just named: log them here,
	// without a callback, and reuse the greeting's clock reading.
	if name, ok := s.names.cached(peer.Addr(), at); ok {
		s.logConn(at, peer, name)
		return
	}
	s.names.name(peer.Addr(), func(name string) { s.logConn(at, peer, name) })
}

// logConn writes the tutorial's line for one connection; the record keeps
// the time of the greeting even when the name arrives later.
func (s *Server) logConn(at time.Time, peer netip.AddrPort, name string) {
	if s.text != nil && peer.Addr().Zone() == "" {
		// The text form formats the line straight into a pooled buffer:
		// no message string, no record, no address string.
		_ = s.text.writeConn(at, peer, name)
		return
	}
	addr := peer.Addr().String()
	if name == "" {
		name = addr
	}
	r := slog.NewRecord(at, slog.LevelInfo, "Connection received from "+name+" ("+addr+")", 0)
	r.AddAttrs(slog.String("peer", addr), slog.Int("port", int(peer.Port())), slog.String("name", name))
	_ = s.log.Handler().Handle(context.Background(), r)
}

// Lingering close. The server closes first (the tutorial's active close,
// which leaves TIME_WAIT on the server), but it must not close while the
// peer may still send: Linux answers bytes that arrive for a closed socket,
// or are left unread in it, with a reset, and the peer's read then ends in
// "connection reset" instead of EOF. So the server sends its FIN, drops
// whatever the peer sends until the peer's FIN, then closes; bounded in
// time and bytes, so a peer that never closes cannot hold its slot long.
const (
	lingerTimeout = time.Second
	lingerMax     = 1 << 20 // bytes dropped before giving up: a flood gets its reset
)

// lingeringClose sends FIN, waits (without a goroutine of its own) for the
// peer's FIN while dropping its bytes, and closes. A well-behaved peer
// closes right after reading the greeting, so this costs one round trip.
func lingeringClose(conn net.Conn) error {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return conn.Close()
	}
	if err := tc.CloseWrite(); err != nil {
		_ = conn.Close()
		return err
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return conn.Close()
	}
	_ = tc.SetReadDeadline(time.Now().Add(lingerTimeout))
	dropped := 0
	_ = raw.Read(func(fd uintptr) bool {
		for dropped < lingerMax {
			// MSG_TRUNC: Linux drops TCP data without copying it.
			n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&discardSink[0])), uintptr(len(discardSink)),
				unix.MSG_DONTWAIT|unix.MSG_TRUNC, 0, 0)
			switch {
			case errno == unix.EINTR:
				continue
			case errno == unix.EAGAIN:
				return false // wait for more, or the FIN, or the deadline
			case errno != 0 || int(n) <= 0:
				return true // the peer's FIN (or an error): done
			}
			dropped += int(n)
		}
		return true
	})
	return conn.Close()
}

// discardSink is where recv(2) is told to put the bytes a lingering close
// drops. With MSG_TRUNC nothing is written here, so one buffer serves every
// connection; no connection ever reads it.
var discardSink [64 << 10]byte

// peerAddr turns a remote address into an address and port with IPv4
// peers of a dual-stack socket shown as dotted IPv4, never ::ffff:a.b.c.d.
func peerAddr(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func setDeadline(ln net.Listener, t time.Time) {
	if d, ok := ln.(interface{ SetDeadline(time.Time) error }); ok {
		_ = d.SetDeadline(t)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// isTemporary reports accept errors that say nothing about the listener
// itself: descriptor exhaustion, memory pressure, a peer that gave up.
func isTemporary(err error) bool {
	for _, e := range []error{unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM, unix.ECONNABORTED, unix.EPROTO, unix.EPERM, unix.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
