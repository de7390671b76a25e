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

	"github.com/smile-sockets/smile/internal/flushwriter"
	"github.com/smile-sockets/smile/internal/resolver"
	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
)

// benchServe runs Serve with reverse lookups through r (nil: -resolve=false) on 127.0.0.1:0
// and greets it b.N times from src (an address of 127.0.0.0/8).
func benchServe(b *testing.B, r *net.Resolver, src string, parallel bool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	lw := flushwriter.New(io.Discard, 64<<10, flushEvery)
	srv := New(Options{Resolver: r}, NewLogger(lw, "text"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
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
