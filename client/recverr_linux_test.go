package client

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestErrQueueNamesTheSender reads a real ICMP error off a socket's error
// queue on loopback: a UDP datagram to a closed port gets ICMP (ICMPv6)
// port unreachable from the host itself, queued with its sender because
// the socket asked for IP_RECVERR (IPV6_RECVERR). TCP's errors come the
// same way; only a router can make one for a SYN (docs/router.md, proven
// by the integration suite's router rows).
func TestErrQueueNamesTheSender(t *testing.T) {
	for _, c := range []struct {
		network, addr string
		family        int
		level, opt    int
		words         string
	}{
		{"udp4", "127.0.0.1", unix.AF_INET, unix.SOL_IP, unix.IP_RECVERR, "port unreachable, reported by 127.0.0.1 (the server itself)"},
		{"udp6", "::1", unix.AF_INET6, unix.SOL_IPV6, unix.IPV6_RECVERR, "port unreachable, reported by ::1 (the server itself)"},
	} {
		t.Run(c.network, func(t *testing.T) {
			// A port nothing listens on: bound, then closed.
			l, err := net.ListenPacket(c.network, net.JoinHostPort(c.addr, "0"))
			if err != nil {
				t.Skipf("no %s loopback here: %v", c.network, err)
			}
			dst := netip.MustParseAddr(c.addr)
			port := l.LocalAddr().(*net.UDPAddr).Port
			require.NoError(t, l.Close())

			fd, err := unix.Socket(c.family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			require.NoError(t, err)
			t.Cleanup(func() { _ = unix.Close(fd) })
			require.NoError(t, unix.SetsockoptInt(fd, c.level, c.opt, 1))
			var sa unix.Sockaddr = &unix.SockaddrInet6{Port: port, Addr: dst.As16()}
			if dst.Is4() {
				sa = &unix.SockaddrInet4{Port: port, Addr: dst.As4()}
			}
			require.NoError(t, unix.Sendto(fd, []byte("smile?"), 0, sa))

			var ie *icmpError
			for deadline := time.Now().Add(2 * time.Second); ie == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				ie = readErrQueue(fd, dst)
			}
			require.NotNil(t, ie, "no ICMP error on the queue")
			assert.Equal(t, dst, ie.from)
			assert.ErrorIs(t, ie, unix.ECONNREFUSED)
			assert.Equal(t, c.words, ie.words())
		})
	}
}

// TestICMPWords pins the words of every ICMP error a reject, a router or a
// loop sends, and who they name.
func TestICMPWords(t *testing.T) {
	srv4, hop4 := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("198.51.100.1")
	srv6, hop6 := netip.MustParseAddr("2001:db8::10"), netip.MustParseAddr("2001:db8:a::1")
	for _, c := range []struct {
		e    icmpError
		want string
	}{
		{icmpError{typ: 3, code: 1, from: hop4, dst: srv4}, "host unreachable, reported by 198.51.100.1 (on the way)"},
		{icmpError{typ: 3, code: 13, from: srv4, dst: srv4}, "prohibited by a firewall at 192.0.2.10 (the server itself)"},
		{icmpError{typ: 3, code: 0, from: hop4, dst: srv4}, "network unreachable, reported by 198.51.100.1 (on the way)"},
		{icmpError{typ: 11, code: 0, from: hop4, dst: srv4}, "TTL exceeded at 198.51.100.1 (on the way)"},
		{icmpError{typ: 12, code: 0, from: hop4, dst: srv4}, "ICMP type 12 code 0 from 198.51.100.1 (on the way)"},
		{icmpError{v6: true, typ: 1, code: 3, from: hop6, dst: srv6}, "host unreachable, reported by 2001:db8:a::1 (on the way)"},
		{icmpError{v6: true, typ: 1, code: 1, from: srv6, dst: srv6}, "prohibited by a firewall at 2001:db8::10 (the server itself)"},
		{icmpError{v6: true, typ: 1, code: 6, from: hop6, dst: srv6}, "prohibited by a firewall at 2001:db8:a::1 (on the way)"},
		{icmpError{v6: true, typ: 3, code: 0, from: hop6, dst: srv6}, "hop limit exceeded at 2001:db8:a::1 (on the way)"},
		{icmpError{v6: true, typ: 4, code: 1, from: hop6, dst: srv6}, "ICMPv6 type 4 code 1 from 2001:db8:a::1 (on the way)"},
		{icmpError{typ: 3, code: 1, from: netip.MustParseAddr("192.0.2.77"), dst: srv4, local: netip.MustParseAddr("192.0.2.77")},
			"host unreachable, reported by this host"},
	} {
		assert.Equal(t, c.want, c.e.words())
	}
}
