package smiletest

import (
	"net"
	"net/netip"
	"testing"

	"github.com/smile-sockets/smile/dgram"
)

// UDPResponder answers datagrams on addr (network udp4 or udp6) as
// smile-server does, for tests of a package the server imports: a probe
// with dgram.Answer, a greeting request at least as long as greeting with
// the greeting, anything else not at all. dup answers every probe twice.
// The test is skipped where the address does not exist (no IPv6).
func UDPResponder(t testing.TB, network, addr, greeting string, dup bool) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Skipf("no %s here: %v", addr, err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		in, out := make([]byte, dgram.MaxPayload+1), make([]byte, dgram.MaxPayload)
		for {
			n, from, err := pc.ReadFrom(in)
			if err != nil {
				return
			}
			if a, _, ok := dgram.Answer(out, in[:n]); ok {
				_, _ = pc.WriteTo(a, from)
				if dup {
					_, _ = pc.WriteTo(a, from)
				}
			} else if dgram.Classify(in[:n]) == dgram.Ordinary && n >= len(greeting) {
				_, _ = pc.WriteTo([]byte(greeting), from)
			}
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}
