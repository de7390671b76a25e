package mesh

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/smile-sockets/smile/internal/netaddr"
	"github.com/smile-sockets/smile/internal/smiletest"
)

// BenchmarkRound is one round of a node greeting 1,000 peers on loopback
// addresses (127.2.x.y), served by listeners in this process: with the
// datagrams of each round (udp.go) answered on the same addresses and
// ports, and with -mesh-udp=false. cpu-ms/op is the process's CPU time a
// round (user and system, of every goroutine, the answering side's too),
// what a node pays where ns/op is mostly waiting.
func BenchmarkRound(b *testing.B) {
	for _, c := range []struct {
		name string
		udp  bool
	}{{"udp", true}, {"tcp-only", false}} {
		b.Run(c.name, func(b *testing.B) { benchRound(b, c.udp) })
	}
}

func benchRound(b *testing.B, udp bool) {
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
		if udp {
			smiletest.UDPResponder(b, "udp4", netip.AddrPortFrom(a, uint16(port)).String(), "Smile from the server", false)
		}
		entries = append(entries, netaddr.HostPort{Host: netaddr.Host{Kind: netaddr.IPv4, Addr: a, Text: a.String()}, Port: port})
	}
	m, err := New(Options{Spec: fmt.Sprint(len(entries)), Entries: entries, Interval: 10 * time.Second, MaxPeers: 1000,
		Timeout: 2 * time.Second, Grace: time.Minute, Node: "bench", NoUDP: !udp}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := smiletest.CPUTime()
	for range b.N {
		m.runRound(context.Background())
	}
	b.ReportMetric(float64(smiletest.CPUTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
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
	for _, c := range r.Destinations {
		if udp && (c.LossRatio == nil || *c.LossRatio != 0) {
			b.Fatalf("%s: datagrams lost: %v", c.Address, c.LossRatio)
		}
	}
}

// BenchmarkRowJSON is serving /mesh.json of a node with 10,000 cells, a
// dual-stack node's row in a mesh of 5,000.
func BenchmarkRowJSON(b *testing.B) {
	m, err := New(Options{Interval: 10 * time.Second, MaxPeers: 100, Timeout: 2 * time.Second, Grace: time.Minute, Node: "bench"},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i := range 10000 {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 7890)
		c := &cell{addr: a}
		c.record(now, 1, "", "", time.Millisecond, "ipv4")
		m.cells[a] = c
		m.owners[a] = fmt.Sprintf("node-%d", i/2)
	}
	b.ResetTimer()
	for range b.N {
		if err := json.NewEncoder(io.Discard).Encode(m.Row()); err != nil {
			b.Fatal(err)
		}
	}
}
