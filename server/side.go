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

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smile-sockets/smile/internal/dnsname"
	"github.com/smile-sockets/smile/internal/errtext"
	"github.com/smile-sockets/smile/internal/resolver"
	"github.com/smile-sockets/smile/mesh"
)

// startError is a failure to start what a flag asked for (-http on a port
// in use), which the exit code reports as a usage error: the command line
// asked for something this host cannot give, and retrying will not help.
type startError struct{ err error }

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// startSide starts what runs beside the greetings: the -http listener
// with /metrics and /healthz, and the mesh's rounds and endpoints with
// -mesh. Both stop with ctx; Wait on the result waits for them.
func startSide(ctx context.Context, cfg *Config, listeners []*boundListener, srv *Server, logLost func() uint64, log *slog.Logger) (*sync.WaitGroup, error) {
	var wg sync.WaitGroup
	var ln net.Listener
	if cfg.HTTP != "" {
		var err error
		ln, err = net.Listen("tcp", cfg.HTTPAddr.String())
		if err != nil {
			return nil, &startError{fmt.Errorf("can't listen for -http on %s: %s", cfg.HTTP, errtext.RootCause(err))}
		}
	}
	var m *mesh.Mesh
	if cfg.Mesh != "" {
		var err error
		if m, err = newMesh(cfg, listeners, log); err != nil {
			if ln != nil {
				_ = ln.Close()
			}
			return nil, &startError{err}
		}
		srv.CountMeshProbes(m.Node(), m.IsPeer)
		log.Info(fmt.Sprintf("MESH node %s greets the peers of %s every %v (at most %d a round, each within %v)",
			m.Node(), cfg.Mesh, cfg.MeshInterval, cfg.MeshPeers, cfg.MeshTimeout),
			"node", m.Node(), "mesh", cfg.Mesh, "interval", cfg.MeshInterval, "peers", cfg.MeshPeers)
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Run(ctx)
		}()
	}
	if ln != nil {
		var extra []prometheus.Collector
		if m != nil {
			extra = append(extra, m)
		}
		reg := NewRegistry(srv, logLost, extra...)
		h := mesh.Handler(m, reg, log)
		log.Info(fmt.Sprintf("HTTP serving /metrics and /healthz%s on %s", map[bool]string{true: ", /mesh.json, /matrix.json and the matrix page /", false: ""}[m != nil], ln.Addr()),
			"http", ln.Addr().String())
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := mesh.ServeHTTP(ctx, ln, h, log); err != nil {
				log.Warn("HTTP listener failed: /metrics and the mesh's endpoints are gone, greetings go on", "http", cfg.HTTP, "err", err)
			}
		}()
	}
	return &wg, nil
}

// newMesh makes the mesh of -mesh: this server's own addresses are its
// listeners' (every interface address for a wildcard), never probed and
// announced to peers.
func newMesh(cfg *Config, listeners []*boundListener, log *slog.Logger) (*mesh.Mesh, error) {
	node := cfg.MeshNode
	if node == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("no -mesh-node given and no host name to use: %w", err)
		}
		if h = dnsname.Sanitize(h); h == "" {
			return nil, errors.New("no -mesh-node given and the host name has no host-name characters")
		}
		node = h
	}
	bound := make([]netip.AddrPort, len(listeners))
	for i, l := range listeners {
		bound[i] = l.addr
	}
	skip, announce := mesh.OwnAddresses(bound, mesh.InterfaceAddrs())
	o := mesh.Options{Spec: cfg.Mesh, Entries: cfg.MeshEntries, Interval: cfg.MeshInterval, MaxPeers: cfg.MeshPeers,
		Timeout: cfg.MeshTimeout, Grace: cfg.MeshGrace, Node: node, Resolver: resolver.New(cfg.Resolver),
		Skip: skip, Announce: announce, Expect: &cfg.Greeting, Metrics: cfg.MeshMetrics,
		NoUDP: !cfg.MeshUDP}
	if cfg.HTTP != "" {
		o.HTTPPort = cfg.HTTPAddr.Port
	}
	return mesh.New(o, log)
}
