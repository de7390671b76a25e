//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/smile-sockets/smile/mesh"
)

// The row farm: fake mesh peers for row matrix, each on a loopback
// address of its own, greeting on one port and serving a row of a cell
// per farm peer at /mesh.json on another (the port of the node's own
// -http, where a node fetches its peers' rows: docs/mesh.md), so that the
// node under test gathers a matrix of rowFarmPeers full rows.

// rowFarmPeers is the row farm's peers, 127.2.0.1 to 127.2.0.100: a
// matrix of about a hundred rows of a hundred cells.
const (
	rowFarmPeers = 100
	rowFarmFirst = "127.2.0.1"
	rowFarmLast  = "127.2.0.100"
)

// rowFarmRole greets on every address of sources at port and serves each
// address's row on httpPort, prints "listening on PORT" once all listen,
// and serves until stdin closes or SIGTERM.
func rowFarmRole(sources string, port, httpPort int) int {
	src, err := parseSources(sources)
	if err != nil || port == 0 || httpPort == 0 {
		fmt.Fprintf(os.Stderr, "smilebench: rowfarm -sources %q -port %d -http-port %d: want addresses and two ports (%v)\n", sources, port, httpPort, err)
		return 2
	}
	start := time.Now()
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	return serveFarm(sources, port, func(a netip.Addr) (io.Closer, error) {
		web, err := lc.Listen(context.Background(), "tcp", netip.AddrPortFrom(a, uint16(httpPort)).String())
		if err != nil {
			return nil, err
		}
		srv := &http.Server{Handler: rowHandler(a, src, port, start), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(web) }()
		return srv, nil
	})
}

// rowHandler serves the row of the peer at self: every other farm peer
// greeted ok, a round every two seconds since start, as a node's
// /mesh.json says it (mesh.Row).
func rowHandler(self netip.Addr, farm []netip.Addr, port int, start time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/mesh.json" {
			http.NotFound(w, r)
			return
		}
		now := time.Now()
		unixMS := float64(now.UnixMicro()) / 1000
		round := uint64(now.Sub(start)/(2*time.Second)) + 1
		row := mesh.Row{RowHead: mesh.RowHead{SchemaVersion: 1, Type: "mesh_node", Node: farmNode(self),
			Addresses: []string{netip.AddrPortFrom(self, uint16(port)).String()}, Mesh: "farm",
			IntervalMS: 2000, TimeoutMS: 1000, MaxPeers: mesh.DefaultMaxPeers, Round: round, RoundMS: 5,
			RoundUnixMS: unixMS, Peers: len(farm) - 1, Discovery: mesh.Discovery{OK: true}, TimeUnixMS: unixMS},
			Destinations: []mesh.Cell{}}
		if r.URL.Query().Get("destinations") != "none" {
			for _, a := range farm {
				if a == self {
					continue
				}
				row.Destinations = append(row.Destinations, mesh.Cell{Host: farmNode(a), Address: netip.AddrPortFrom(a, uint16(port)).String(),
					Family: "ipv4", OK: true, LatencyMS: 0.2, SinceUnixMS: float64(start.UnixMilli()), LastOKUnixMS: unixMS, Round: round})
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(row)
	})
}

// farmNode is the node name of the farm peer at a.
func farmNode(a netip.Addr) string { return "farm-" + strings.ReplaceAll(a.String(), ".", "-") }

// startRowFarm starts the row farm on a free greeting port and on web's
// port (the node's -http), in one process.
func startRowFarm(e *env, web string) (*farm, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	_, httpPort, _ := net.SplitHostPort(web)
	p, err := e.startSelf("row farm", "-role", "rowfarm", "-sources", rowFarmFirst+"-"+rowFarmLast, "-port", port, "-http-port", httpPort)
	if err != nil {
		return nil, err
	}
	f := &farm{procs: []*proc{p}}
	src, _ := parseSources(rowFarmFirst + "-" + rowFarmLast)
	for _, a := range src {
		f.peers = append(f.peers, net.JoinHostPort(a.String(), port))
	}
	return f, nil
}

// waitMatrix waits until the node at web serves a matrix with a fresh row
// from every farm peer, or until timeout; it returns the matrix's size in
// bytes.
func waitMatrix(web string, peers int, timeout time.Duration) (size int, err error) {
	deadline := time.Now().Add(timeout)
	for {
		body, err := get("http://" + web + "/matrix.json")
		fresh := 0
		if err == nil {
			var m mesh.Matrix
			if err = json.Unmarshal([]byte(body), &m); err == nil {
				for _, r := range m.Rows {
					if !r.Stale && (len(r.Cells) > 0 || r.Codes != "") {
						fresh++
					}
				}
				if fresh >= peers {
					return len(body), nil
				}
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d of %d peers' rows in /matrix.json of %s after %v (last error: %v)", fresh, peers, web, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
