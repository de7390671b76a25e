package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/smile-sockets/smile/internal/netaddr"
)

// Server greets every connection from any number of listeners. Serving is
// kept apart from listening so that tests hand in a listener of their own.
// What any protocol needs is its core (core.go); what only a stream of
// connections has is tcp.
type Server struct {
	core
	tcp tcpSide
	udp *datagrams // the datagram side (udp.go), nil without -udp
}

// tcpSide is what only the stream side keeps: the slots of -max-conns,
// taken from accept to the written greeting, and the lingering closes
// that follow it (linger.go, and the fast path's linger set).
type tcpSide struct {
	slots     *slots
	lingering lingerers
	lingerSet lingerSet // the fast path's lingering closes
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
	s := &Server{tcp: tcpSide{slots: newSlots(o.MaxConns), lingering: lingerers{max: int64(o.MaxConns)}}}
	s.core.init(o, log)
	s.tcp.lingerSet.closed = s.lingerClosed
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
	if fl, ok := newFastListener(ln, s.tcp.lingerSet.sweep); ok {
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
		s.tcp.slots.waitFree()
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
		s.tcp.slots.take()
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
	s.tcp.lingerSet.stop()
	s.waitNames()
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
	s.tcp.slots.release() // the greeting is written (or failed): the slot is free
	var cerr error
	if werr == nil {
		cerr = s.tcp.lingering.close(conn)
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

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
