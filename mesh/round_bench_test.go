package mesh

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/smile-sockets/smile/internal/netaddr"
)

// BenchmarkRound is one round of a node greeting 1,000 peers on loopback
// addresses (127.2.x.y), served by listeners in this process.
func BenchmarkRound(b *testing.B) {
	var entries []netaddr.HostPort
	port := 0
	for i := range 1000 {
		a := netip.AddrFrom4([4]byte{127, 2, byte(i / 250), byte(1 + i%250)})
		ln, err := net.Listen("tcp", netip.AddrPortFrom(a, uint16(port)).String())
		if err != nil {
			b.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		b.Cleanup(func() { _ = ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = c.Write([]byte("Smile from the server"))
				_ = c.Close()
			}
		}()
		entries = append(entries, netaddr.HostPort{Host: netaddr.Host{Kind: netaddr.IPv4, Addr: a, Text: a.String()}, Port: port})
	}
	m, err := New(Options{Spec: fmt.Sprint(len(entries)), Entries: entries, Interval: 10 * time.Second, MaxPeers: 1000,
		Timeout: 2 * time.Second, Grace: time.Minute, Node: "bench"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		m.runRound(context.Background())
	}
	b.StopTimer()
	r := m.Row()
	ok := 0
	for _, c := range r.Destinations {
		if c.OK {
			ok++
		}
	}
	if ok != 1000 {
		b.Fatalf("%d of 1000 ok", ok)
	}
}
