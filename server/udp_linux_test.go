package server

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// TestDatagramAnswersFromTheSecondAddress: a host with two addresses of
// each family on one interface (its loopback, in a namespace of the
// test's own: this kernel may have no dummy interfaces), a client on the first sending to the second: the answer comes
// from the second, on a dual-stack wildcard socket and on per-family
// wildcard ones, over IPv4 and IPv6, while the naive wildcard responder
// answers from the first.
func TestDatagramAnswersFromTheSecondAddress(t *testing.T) {
	ns := smiletest.NewNetns(t)
	ns.Run(t, "ip addr add 10.28.5.1/24 dev lo", "ip addr add 10.28.5.2/24 dev lo",
		"ip -6 addr add fd28:5::1/64 dev lo nodad", "ip -6 addr add fd28:5::2/64 dev lo nodad")
	first4, second4 := netip.MustParseAddr("10.28.5.1"), netip.MustParseAddr("10.28.5.2")
	first6, second6 := netip.MustParseAddr("fd28:5::1"), netip.MustParseAddr("fd28:5::2")
	for _, c := range []struct {
		network, listen string
		from, to        netip.Addr
	}{
		{"udp", "[::]:0", first4, second4},
		{"udp", "[::]:0", first6, second6},
		{"udp4", "0.0.0.0:0", first4, second4},
		{"udp6", "[::]:0", first6, second6},
	} {
		t.Run(c.network+" "+c.to.String(), func(t *testing.T) {
			ns.Do(t, func() {
				port, _ := serveDatagrams(t, c.network, c.listen)
				dst := netip.AddrPortFrom(c.to, port)
				assert.Equal(t, dst, answerSource(t, c.from, dst))
			})
		})
	}
	t.Run("naive wildcard responder", func(t *testing.T) {
		ns.Do(t, func() {
			port := naiveResponder(t)
			assert.Equal(t, netip.AddrPortFrom(first4, port), answerSource(t, first4, netip.AddrPortFrom(second4, port)),
				"the naive server answers the second address's datagram from the first")
		})
	})
}
