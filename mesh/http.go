package mesh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smile-sockets/smile/internal/netaddr"
)

// Bounds on what clients of -http can hold. Each kind of request has a
// limit of its own, so that none waits behind another: /healthz none (it
// is a constant), /metrics promhttp's, peers' /mesh.json rowsInFlight,
// the page and /matrix.json (the same bytes for everyone)
// matrixInFlight; more get 503 at once rather than queue. Connections
// are capped at maxConns, idle ones closed after idleTimeout, and every
// write of a reply must make progress within writeStall, so a client
// that never reads holds its slot for seconds, not for the server's
// whole write timeout.
const (
	rowsInFlight   = 64
	matrixInFlight = 64
	maxConns       = 256
	idleTimeout    = 5 * time.Second
	writeStall     = 2 * time.Second
	writeChunk     = 64 << 10
)

// Handler serves the endpoints: /healthz, /metrics from g, and, when m is
// not nil (-mesh given), /mesh.json, /matrix.json and the page at /. Only
// requests whose Host is an IP address or a name of this node's are
// answered (a web page elsewhere cannot reach them by DNS rebinding), and
// no reply may be framed by another page.
func Handler(m *Mesh, g prometheus.Gatherer, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn), MaxRequestsInFlight: 4, Timeout: 10 * time.Second}))
	rows, matrix := limit(rowsInFlight), limit(matrixInFlight)
	mux.Handle("GET /mesh.json", rows(func(w http.ResponseWriter, r *http.Request) {
		if m == nil {
			meshOff(w)
			return
		}
		// ?destinations=none: the row without its cells, all a peer
		// needs to learn whose addresses these are (a few hundred bytes
		// where the whole row of a large mesh is megabytes).
		// ?form=compact: what a gathering asks for (compact.go).
		if r.URL.Query().Get("form") == "compact" {
			writeJSON(w, m.compactRow())
			return
		}
		writeJSON(w, m.row(r.URL.Query().Get("destinations") != "none"))
	}))
	mux.Handle("GET /matrix.json", matrix(func(w http.ResponseWriter, r *http.Request) {
		if m == nil {
			meshOff(w)
			return
		}
		e, at, err := m.matrixEncoded(r.Context())
		if err != nil {
			return // the client went away
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("Last-Modified", at.UTC().Format(http.TimeFormat))
		h.Set("Age", strconv.Itoa(int(time.Since(at).Seconds())))
		h.Set("Vary", "Accept-Encoding")
		b := e.json
		if acceptsGzip(r) { // gzipped once too (matrixform.go)
			h.Set("Content-Encoding", "gzip")
			b = e.gzip
		}
		writeBytes(w, b)
	}))
	mux.Handle("GET /{$}", matrix(servePage))
	hosts := ownNames(m)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'")
		if !hostAllowed(r.Host, hosts) {
			http.Error(w, "unknown host: ask by IP address or by this node's name", http.StatusMisdirectedRequest)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// limit returns a wrapper that lets n requests through at once and
// answers 503 to the others.
func limit(n int) func(http.HandlerFunc) http.Handler {
	sem := make(chan struct{}, n)
	return func(h http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				h(w, r)
			default:
				http.Error(w, "busy: too many requests in flight", http.StatusServiceUnavailable)
			}
		})
	}
}

// ownNames are the Host names this node answers to besides IP addresses:
// localhost (a port-forward), the host's name, the node's name and the
// names -mesh lists (a Service's name).
func ownNames(m *Mesh) map[string]bool {
	names := map[string]bool{"localhost": true}
	if h, err := os.Hostname(); err == nil {
		names[strings.ToLower(h)] = true
	}
	if m != nil {
		names[strings.ToLower(m.o.Node)] = true
		for _, e := range m.o.Entries {
			if e.Kind == netaddr.Name {
				names[strings.ToLower(e.Text)] = true
			}
		}
	}
	return names
}

// hostAllowed reports whether a request's Host (with or without a port)
// is an IP address or one of names.
func hostAllowed(host string, names map[string]bool) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if _, err := netip.ParseAddr(strings.Replace(host, "%25", "%", 1)); err == nil { // a zone as a URL writes it
		return true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return names[strings.ToLower(host)]
}

func meshOff(w http.ResponseWriter) {
	http.Error(w, "the mesh is off: smile-server runs without -mesh", http.StatusNotFound)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, fmt.Sprintf("encoding: %v", err), http.StatusInternalServerError)
		return
	}
	writeBytes(w, append(b, '\n'))
}

// writeBytes writes b in chunks, each of which must be taken by the client
// within writeStall: one that stops reading loses its connection then.
func writeBytes(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	rc := http.NewResponseController(w)
	for len(b) > 0 {
		n := min(len(b), writeChunk)
		_ = rc.SetWriteDeadline(time.Now().Add(writeStall))
		if _, err := w.Write(b[:n]); err != nil {
			return
		}
		b = b[n:]
	}
}

// ServeHTTP serves h on ln until ctx is done, then closes ln and waits
// up to a second for the requests in flight. Connections are capped at
// maxConns (connCap) and idle ones closed after idleTimeout; slow or idle
// clients are cut off, so none holds a connection for long.
func ServeHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	cl := &connCap{Listener: ln, max: maxConns, conns: map[net.Conn]connInfo{}}
	srv.ConnState = cl.track
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	defer stop()
	if err := srv.Serve(cl); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// connCap caps the connections open at once at max. When a connection
// arrives at the cap, the one idle the longest (sent nothing yet, or
// between requests) is closed to make room, else the newcomer is: idle
// connections, however many, neither take more descriptors than the cap
// (greetings need theirs) nor keep a probe of /healthz waiting in the
// kernel's queue behind them, as a listener that stops accepting at the
// cap would.
type connCap struct {
	net.Listener
	max   int
	mu    sync.Mutex
	conns map[net.Conn]connInfo
}

// connInfo is an open connection's state, and since when.
type connInfo struct {
	state http.ConnState
	since time.Time
}

func (l *connCap) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if len(l.conns) >= l.max {
			var victim net.Conn
			var at time.Time
			for vc, in := range l.conns {
				if (in.state == http.StateNew || in.state == http.StateIdle) && (victim == nil || in.since.Before(at)) {
					victim, at = vc, in.since
				}
			}
			if victim == nil { // every one is busy with a request: the newcomer waits its turn elsewhere
				l.mu.Unlock()
				_ = c.Close()
				continue
			}
			delete(l.conns, victim)
			_ = victim.Close()
		}
		l.conns[c] = connInfo{http.StateNew, time.Now()}
		l.mu.Unlock()
		return c, nil
	}
}

// track follows each connection's state (http.Server.ConnState).
func (l *connCap) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	default:
		if _, ok := l.conns[c]; ok {
			l.conns[c] = connInfo{s, time.Now()}
		}
	}
}
