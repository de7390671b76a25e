//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/smile-sockets/smile/internal/smiletest/bench"
)

// The peer farm: mesh peers for the mesh rows, many loopback addresses
// served by a few processes. Each farm process listens on one port of up
// to 256 addresses (-sources FIRST-LAST) and greets like the Go baseline.

// farmSize is the peers of the farm: farms processes of farmEach
// addresses each, 127.1.F.1 to 127.1.F.farmEach.
const (
	farms    = 4
	farmEach = 250
)

// farmRole listens on every address of sources at port, prints
// "listening on PORT" once all listen, and greets until stdin closes or
// SIGTERM.
func farmRole(sources string, port int) int { return serveFarm(sources, port, nil) }

// serveFarm is farmRole, with also (when not nil) called for each address
// once its greeting listener is up, for a server of its own there, which
// is closed when the farm stops.
func serveFarm(sources string, port int, also func(a netip.Addr) (io.Closer, error)) int {
	src, err := parseSources(sources)
	if err != nil || len(src) == 0 {
		fmt.Fprintf(os.Stderr, "smilebench: -sources %q: %v\n", sources, err)
		return 2
	}
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	var lns []net.Listener
	var more []io.Closer
	for _, a := range src {
		ln, err := lc.Listen(context.Background(), "tcp", netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			lns = append(lns, ln)
			if also != nil {
				var c io.Closer
				c, err = also(a)
				more = append(more, c)
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "smilebench: %v\n", err)
			return 1
		}
	}
	stop := func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
		for _, c := range more {
			_ = c.Close()
		}
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		stop()
	}()
	fmt.Printf("listening on %d\n", port)
	done := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { done <- bench.ServeBaseline(ln, []byte(bench.Greeting)) }()
	}
	for range lns {
		if err := <-done; err != nil {
			fmt.Fprintf(os.Stderr, "smilebench: %v\n", err)
			return 1
		}
	}
	return 0
}

// farm is the running peer farm: its processes and every peer address.
type farm struct {
	procs []*proc
	peers []string // IP:PORT
}

// startFarm starts the farm processes on a port free on 127.0.0.1 (the
// 127.1.0.0/16 addresses are otherwise unused here).
func startFarm(e *env) (*farm, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	f := &farm{}
	for i := range farms {
		first, last := fmt.Sprintf("127.1.%d.1", i), fmt.Sprintf("127.1.%d.%d", i, farmEach)
		p, err := e.startSelf(fmt.Sprintf("farm %d", i), "-role", "farm", "-sources", first+"-"+last, "-port", port)
		if err != nil {
			return nil, err
		}
		f.procs = append(f.procs, p)
		for j := 1; j <= farmEach; j++ {
			f.peers = append(f.peers, fmt.Sprintf("127.1.%d.%d:%s", i, j, port))
		}
	}
	return f, nil
}

// spec is the -mesh list of the first n peers.
func (f *farm) spec(n int) string { return strings.Join(f.peers[:n], ",") }
