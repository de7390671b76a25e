package mesh

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxInFlight bounds the requests served at once; more get 503 at once
// rather than queue. Each request's own work is bounded too: the page is
// bytes in memory, a row is built from the state in memory, and the matrix
// is gathered at most once per freshness window, whoever asks.
const maxInFlight = 64

// Handler serves the endpoints: /healthz, /metrics from g, and, when m is
// not nil (-mesh given), /mesh.json, /matrix.json and the page at /.
func Handler(m *Mesh, g prometheus.Gatherer, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn), MaxRequestsInFlight: 4, Timeout: 10 * time.Second}))
	mux.HandleFunc("GET /mesh.json", func(w http.ResponseWriter, r *http.Request) {
		if m == nil {
			meshOff(w)
			return
		}
		// ?destinations=none: the row without its cells, all a peer
		// needs to learn whose addresses these are (a few hundred bytes
		// where the whole row of a large mesh is megabytes).
		writeJSON(w, m.row(r.URL.Query().Get("destinations") != "none"))
	})
	mux.HandleFunc("GET /matrix.json", func(w http.ResponseWriter, r *http.Request) {
		if m == nil {
			meshOff(w)
			return
		}
		mat, err := m.Matrix(r.Context())
		if err != nil {
			return // the client went away
		}
		writeJSON(w, mat)
	})
	mux.HandleFunc("GET /{$}", servePage)
	sem := make(chan struct{}, maxInFlight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
			mux.ServeHTTP(w, r)
		default:
			http.Error(w, "busy: too many requests in flight", http.StatusServiceUnavailable)
		}
	})
}

func meshOff(w http.ResponseWriter) {
	http.Error(w, "the mesh is off: smile-server runs without -mesh", http.StatusNotFound)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// ServeHTTP serves h on ln until ctx is done, then closes ln and waits
// up to a second for the requests in flight. Slow or idle clients are cut
// off, so none holds a connection for long.
func ServeHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	defer stop()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
