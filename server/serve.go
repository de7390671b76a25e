package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/smile-sockets/smile/internal/netaddr"
)

// Server greets every connection from any number of listeners. Serving is
// kept apart from listening so that tests hand in a listener of their own.
type Server struct {
	greeting     []byte
	writeTimeout time.Duration
	log          *slog.Logger
	text         *textHandler // log's handler when it is the text form, for the fast line
	names        *namer       // nil: log addresses only
	meshNode     string       // this node's name in the mesh; "" without -mesh
	isMeshPeer   func(netip.Addr) bool
	drainIdle    time.Duration
	slots        *slots
	lingering    lingerers
	lingerSet    lingerSet // the fast path's lingering closes
	counters     counters  // for Stats
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
	DrainIdle      time.Duration // how long a stopping server waits for late handshakes; -drain-idle
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
	if o.DrainIdle <= 0 {
		o.DrainIdle = DefaultDrainIdle
	}
	text, _ := log.Handler().(*textHandler)
	s := &Server{
		text:         text,
		greeting:     o.Greeting,
		writeTimeout: o.WriteTimeout,
		log:          log,
		drainIdle:    o.DrainIdle,
		slots:        newSlots(o.MaxConns),
		lingering:    lingerers{max: int64(o.MaxConns)},
	}
	s.lingerSet.closed = s.lingerClosed
	if o.Resolver != nil {
		s.names = newNamer(o.Resolver, o.ResolveTimeout)
	}
	return s
}

// Serve accepts on ln until ctx is done, then stops new handshakes, serves
// what the kernel had queued, closes ln and returns. Greetings still being
// written continue; Wait waits for them. ln belongs to Serve: cancel ctx
// to stop it, rather than closing ln (a TCP listener is served through a
// descriptor of Serve's own on Linux, see fastpath_linux.go). A TCP
// listener with SO_LINGER set is served without that fast path, so that a
// close that lingers waits only in its own connection's goroutine.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if fl, ok := newFastListener(ln, s.lingerSet.sweep); ok {
		ln = fl
	}
	d := &drain{ln: ln, idle: s.drainIdle}
	stop := context.AfterFunc(ctx, func() { d.begin(s.log) })
	defer stop()
	defer ln.Close()

	var backoff time.Duration
	var failingSince time.Time // draining and no accept has succeeded since
	for {
		// Wait for a free slot but take it only with a connection in hand,
		// so that an idle listener holds none.
		s.slots.waitFree()
		if !d.next() {
			return nil
		}
		c, err := acceptConn(ln)
		if err != nil {
			if ctx.Err() != nil && isTimeout(err) && pending(ln) {
				continue // the window ran out before the accept asked the kernel
			}
			if ctx.Err() != nil && (isTimeout(err) || errors.Is(err, net.ErrClosed)) {
				return nil // the queue stayed empty for the idle window
			}
			if !isTemporary(err) {
				return err
			}
			if ctx.Err() != nil {
				// Descriptors held by greetings come back within the write
				// timeout and the linger; if none has by then, something
				// else holds them, and the drain must not outlive SIGTERM's
				// grace for ever.
				if failingSince.IsZero() {
					failingSince = time.Now()
				} else if time.Since(failingSince) > s.writeTimeout+lingerTimeout+d.idle {
					return fmt.Errorf("draining %s: accept kept failing: %w", ln.Addr(), err)
				}
			}
			// Out of descriptors or a peer gave up in the queue: back off
			// like net/http instead of spinning on the error, draining or
			// not; descriptors come back as greetings end.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed, retrying", "listen", ln.Addr().String(), "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff, failingSince = 0, time.Time{}
		d.accepted()
		s.slots.take()
		s.inflight.Add(1)
		s.serveConn(c)
	}
}

// Wait waits for the greetings in progress, each bounded by the write
// timeout and the lingering close, and then for the reverse lookups that
// will log them, each bounded by the resolve timeout. Call it after every
// Serve has returned: a draining Serve still starts greetings.
func (s *Server) Wait() {
	s.inflight.Wait()
	s.lingerSet.stop()
	if s.names != nil {
		s.names.wait()
	}
}

// greet is the whole protocol: write, close, then (off the critical path)
// name the peer for the log.
func (s *Server) greet(conn net.Conn) {
	s.finishGreet(conn, time.Now(), netaddr.AddrPortOf(conn.RemoteAddr()), 0)
}

// finishGreet writes what is left of the greeting after the first written
// bytes, closes and logs.
func (s *Server) finishGreet(conn net.Conn, at time.Time, peer netip.AddrPort, written int) {
	defer s.inflight.Done()
	_ = conn.SetWriteDeadline(at.Add(s.writeTimeout))
	n, werr := conn.Write(s.greeting[written:])
	n += written
	s.slots.release() // the greeting is written (or failed): the slot is free
	var cerr error
	if werr == nil {
		cerr = s.lingering.close(conn)
	} else {
		cerr = conn.Close()
	}
	if werr == nil && cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		werr = cerr
	}
	s.logGreeting(at, peer, n, werr)
}

// CountMeshProbes makes the server count the greetings of peers of the
// mesh named node, for which isPeer is true, rather than log each (see
// mesh.Mesh.IsPeer): a failed one is still logged. Call it before Serve.
func (s *Server) CountMeshProbes(node string, isPeer func(netip.Addr) bool) {
	s.meshNode, s.isMeshPeer = node, isPeer
}

// logGreeting logs how a greeting went: a warning when it failed, else
// the tutorial's line with the peer's name, which (off the critical path)
// may come later; a mesh peer's probe is counted, neither logged nor
// named.
func (s *Server) logGreeting(at time.Time, peer netip.AddrPort, n int, werr error) {
	s.counters.count(werr)
	if s.isMeshPeer != nil && s.isMeshPeer(peer.Addr()) {
		s.counters.meshProbes.n.Add(1)
		if werr == nil {
			return
		}
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

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
