//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/smile-sockets/smile/internal/resolver"
	"github.com/smile-sockets/smile/internal/smiletest/bench"
)

// serveRole runs a reference server on 127.0.0.1, prints its address and
// serves until stdin closes (the parent stopped or died) or SIGTERM.
func serveRole(role, dns string, timeout time.Duration) int {
	// Plain TCP like smile-server's own socket: Go's net.Listen would
	// make an MPTCP listener here, a different kernel path.
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "smilebench: %v\n", err)
		return 1
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = ln.Close()
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		_ = ln.Close()
	}()
	greeting := []byte(bench.Greeting)
	if role == "baseline" {
		err = bench.ServeBaseline(ln, greeting)
	} else {
		err = bench.ServeSequential(ln, greeting, resolver.New(dns), timeout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "smilebench: %v\n", err)
		return 1
	}
	return 0
}

// dialRole is the minimal load loop; it prints one JSON summary.
func dialRole(addr string, count, workers int, sources string, readTimeout time.Duration) int {
	src, err := parseSources(sources)
	if err != nil {
		fmt.Fprintf(os.Stderr, "smilebench: %v\n", err)
		return 2
	}
	if !loopback(addr) {
		return 2
	}
	return printSummary(bench.DialLoop(context.Background(), addr, count, workers, src, readTimeout, []byte(bench.Greeting)))
}

// loopback reports whether addr is a loopback IP:PORT, and says so when
// it is not.
func loopback(addr string) bool {
	if ap, err := netip.ParseAddrPort(addr); err != nil || !ap.Addr().IsLoopback() {
		fmt.Fprintf(os.Stderr, "smilebench: -addr %q: want a loopback IP:PORT\n", addr)
		return false
	}
	return true
}

// printSummary prints a load loop's summary as JSON and returns the exit
// code: 1 when a probe failed.
func printSummary(s bench.Summary) int {
	_ = json.NewEncoder(os.Stdout).Encode(s)
	if s.FailedProbes > 0 {
		return 1
	}
	return 0
}

// dgramRole is the datagram load loop; it prints one JSON summary.
func dgramRole(addr string, count, workers, size int, timeout time.Duration) int {
	if !loopback(addr) {
		return 2
	}
	if size < len(bench.Greeting) {
		fmt.Fprintf(os.Stderr, "smilebench: -size %d: want at least the greeting's %d bytes\n", size, len(bench.Greeting))
		return 2
	}
	return printSummary(bench.DatagramLoop(context.Background(), addr, count, workers, size, timeout, []byte(bench.Greeting)))
}

// parseSources reads FIRST-LAST (or one address) into the loopback
// addresses from FIRST to LAST, at most 256.
func parseSources(s string) ([]netip.Addr, error) {
	if s == "" {
		return nil, nil
	}
	first, last, _ := strings.Cut(s, "-")
	a, err := netip.ParseAddr(first)
	if err != nil {
		return nil, err
	}
	b := a
	if last != "" {
		if b, err = netip.ParseAddr(last); err != nil {
			return nil, err
		}
	}
	var out []netip.Addr
	for x := a; x.Compare(b) <= 0 && len(out) < 256; x = x.Next() {
		if !x.IsLoopback() {
			return nil, fmt.Errorf("source %s is not loopback", x)
		}
		out = append(out, x)
	}
	return out, nil
}
