package server

// Benchmarks of the per-connection path: Serve on a loopback listener,
// greeted in a loop, with the log going through the real buffered writer
// and text handler. Every reverse lookup is answered by /etc/hosts or by a
// dnstest server on 127.0.0.1; nothing leaves loopback.
//
//	go test -run '^$' -bench . -benchmem ./server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/smile-sockets/smile/dgram"
	"github.com/smile-sockets/smile/internal/flushwriter"
	"github.com/smile-sockets/smile/internal/resolver"
	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
)

// serveUntilEnd runs serve in the background until the benchmark ends,
// then stops it, reports its error and runs after.
func serveUntilEnd(b *testing.B, serve func(context.Context) error, after func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
		after()
	})
}

// benchServe runs Serve with reverse lookups through r (nil: -resolve=false) on 127.0.0.1:0
// and greets it b.N times from src (an address of 127.0.0.0/8).
func benchServe(b *testing.B, r *net.Resolver, src string, parallel bool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	lw := flushwriter.New(io.Discard, 64<<10, flushEvery)
	srv := New(Options{Resolver: r}, NewLogger(lw, "text"))
	serveUntilEnd(b, func(ctx context.Context) error { return srv.Serve(ctx, ln) }, func() {
		srv.Wait()
		_ = lw.Close()
	})

	d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(src), 0))}
	addr := ln.Addr().String()
	greetOnce := func(buf []byte) error {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n := 0
		for {
			m, err := c.Read(buf[n:])
			n += m
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
		}
		if string(buf[:n]) != defaultGreeting {
			return errors.New("bad greeting " + string(buf[:n]))
		}
		return nil
	}
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		buf := make([]byte, 64)
		for range b.N {
			if err := greetOnce(buf); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 64)
		for pb.Next() {
			if err := greetOnce(buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkServe measures one greeting end to end (client dial and read
// included), so the differences between the cases are the server's.
// allocs/op counts both sides; the client's share is the same in every
// case.
func BenchmarkServe(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := "serial"
		if parallel {
			name = "parallel"
		}
		b.Run(name+"/resolve=off", func(b *testing.B) {
			benchServe(b, nil, "127.0.0.1", parallel)
		})
		b.Run(name+"/resolve=hosts", func(b *testing.B) {
			// 127.0.0.1 is named by /etc/hosts; the stub is there so that
			// nothing else could be asked.
			dns := dnstest.Start(b)
			benchServe(b, resolver.New(dns.Addr), "127.0.0.1", parallel)
		})
		b.Run(name+"/resolve=stub", func(b *testing.B) {
			dns := dnstest.Start(b)
			dns.AddPTR("127.0.0.2", "peer.smile.test")
			benchServe(b, resolver.New(dns.Addr), "127.0.0.2", parallel)
		})
		b.Run(name+"/resolve=dead", func(b *testing.B) {
			dns := dnstest.Start(b)
			dns.SetSilent(true)
			benchServe(b, resolver.New(dns.Addr), "127.0.0.2", parallel)
		})
	}
}

// BenchmarkLogConn is the log line of one connection, through the buffered
// writer, without the network.
func BenchmarkLogConn(b *testing.B) {
	lw := flushwriter.New(io.Discard, 64<<10, flushEvery)
	defer lw.Close()
	srv := New(Options{WriteTimeout: time.Second, MaxConns: 1}, NewLogger(lw, "text"))
	peer := netip.MustParseAddrPort("127.0.0.1:50000")
	at := time.Now()
	b.ReportAllocs()
	for range b.N {
		srv.logConn(at, peer, "localhost")
	}
}

// BenchmarkNameCached is the namer's cache hit, the common case on a busy
// server.
func BenchmarkNameCached(b *testing.B) {
	dns := dnstest.Start(b)
	n := newNamer(resolver.New(dns.Addr), 2*time.Second)
	addr := netip.MustParseAddr("127.0.0.1")
	got := make(chan string, 1)
	n.name(addr, func(s string) { got <- s })
	<-got
	b.ReportAllocs()
	for range b.N {
		n.name(addr, func(string) {})
	}
}

// benchDatagrams answers datagrams on a socket opened for network and
// addr as smile-server opens it, with the log line of the default
// server (-resolve=false), and sends b.N greeting requests to its port
// on address to from a connected client socket, one in flight: the round trip with the server's
// per-datagram work (one read, one answer, a count, a log line).
func benchDatagrams(b *testing.B, network, addr string, to netip.Addr) {
	pc, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		b.Skipf("no %s %s here: %v", network, addr, err)
	}
	lw := flushwriter.New(io.Discard, 64<<10, flushEvery)
	d := newDatagrams(New(Options{}, NewLogger(lw, "text")))
	serveUntilEnd(b, func(ctx context.Context) error { return d.serve(ctx, pc) }, func() { _ = lw.Close() })
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(to, pc.LocalAddr().(*net.UDPAddr).AddrPort().Port())))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req, buf := make([]byte, 64), make([]byte, 128)
	copy(req, dgram.Request)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != defaultGreeting {
			b.Fatalf("answer %q, %v", buf[:n], err)
		}
	}
}

// BenchmarkDatagram is one greeting over a datagram, round trip, on an
// IPv4 socket, an IPv6 one and a dual-stack one asked over IPv4 (the
// peer and the destination come as ::ffff:127.0.0.1). allocs/op counts
// both sides; the client's share is none.
func BenchmarkDatagram(b *testing.B) {
	lo4, lo6 := netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()
	b.Run("udp4", func(b *testing.B) { benchDatagrams(b, "udp4", "127.0.0.1:0", lo4) })
	b.Run("udp6", func(b *testing.B) { benchDatagrams(b, "udp6", "[::1]:0", lo6) })
	b.Run("dual-stack", func(b *testing.B) { benchDatagrams(b, "udp", "[::]:0", lo4) })
}
