package mesh

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSpec(t *testing.T) {
	cases := []struct {
		spec string
		want []string
	}{
		{"smile-mesh", []string{"smile-mesh:7890"}},
		{"smile-mesh:9000", []string{"smile-mesh:9000"}},
		{"10.0.0.1:1, 10.0.0.2,[fd00::1]:3,fd00::2", []string{"10.0.0.1:1", "10.0.0.2:7890", "[fd00::1]:3", "[fd00::2]:7890"}},
		{"a.example.,b", []string{"a.example.:7890", "b:7890"}},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			got, err := ParseSpec(c.spec, 7890)
			require.NoError(t, err)
			var s []string
			for _, hp := range got {
				s = append(s, hp.String())
			}
			assert.Equal(t, c.want, s)
		})
	}
}

// TestPeerSetGrace: a peer unlisted for longer than the grace period is
// dropped, one listed again is kept, and own addresses never enter.
func TestPeerSetGrace(t *testing.T) {
	a, b, own := netip.MustParseAddrPort("10.0.0.1:7890"), netip.MustParseAddrPort("[fd00::1]:7890"), netip.MustParseAddrPort("10.0.0.9:7890")
	ps := newPeerSet(time.Minute, []netip.AddrPort{own})
	t0 := time.Now()
	peers, dropped := ps.update(t0, []netip.AddrPort{a, b, own})
	assert.Equal(t, []netip.AddrPort{a, b}, peers)
	assert.Empty(t, dropped)
	peers, dropped = ps.update(t0.Add(30*time.Second), []netip.AddrPort{a})
	assert.Equal(t, []netip.AddrPort{a, b}, peers, "b is within its grace")
	assert.Empty(t, dropped)
	peers, dropped = ps.update(t0.Add(61*time.Second), nil)
	assert.Equal(t, []netip.AddrPort{a}, peers, "a was listed 31s ago")
	assert.Equal(t, []netip.AddrPort{b}, dropped)
}

func TestOwnAddresses(t *testing.T) {
	ifaddrs := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"), netip.MustParseAddr("10.1.2.3"),
		netip.MustParseAddr("fd00::7"), netip.MustParseAddr("fe80::1")}
	ap := netip.MustParseAddrPort
	cases := []struct {
		name           string
		bound          []netip.AddrPort
		skip, announce []netip.AddrPort
	}{
		{"dual-stack wildcard", []netip.AddrPort{ap("[::]:7890")},
			[]netip.AddrPort{ap("10.1.2.3:7890"), ap("127.0.0.1:7890"), ap("[::1]:7890"), ap("[fd00::7]:7890"), ap("[fe80::1]:7890")},
			[]netip.AddrPort{ap("10.1.2.3:7890"), ap("[fd00::7]:7890")}},
		{"IPv4 wildcard", []netip.AddrPort{ap("0.0.0.0:7890")},
			[]netip.AddrPort{ap("10.1.2.3:7890"), ap("127.0.0.1:7890")}, []netip.AddrPort{ap("10.1.2.3:7890")}},
		{"one address", []netip.AddrPort{ap("127.0.0.5:7000")},
			[]netip.AddrPort{ap("127.0.0.5:7000")}, []netip.AddrPort{ap("127.0.0.5:7000")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			skip, announce := OwnAddresses(c.bound, ifaddrs)
			assert.Equal(t, c.skip, skip)
			assert.Equal(t, c.announce, announce)
		})
	}
}

// TestPeerSetBounded: DNS answers that rotate through ever new addresses
// grow the peer set to maxPeerSet and no further; addresses already in it
// stay listed.
func TestPeerSetBounded(t *testing.T) {
	ps := newPeerSet(time.Minute, nil)
	t0 := time.Now()
	var peers []netip.AddrPort
	for i := range 30 {
		var found []netip.AddrPort
		for j := range 1000 {
			found = append(found, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i), byte(j >> 8), byte(j)}), 7890))
		}
		peers, _ = ps.update(t0.Add(time.Duration(i)*time.Second), found)
	}
	assert.Len(t, peers, maxPeerSet)
	assert.Equal(t, 1000, ps.refused)
	first := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 0}), 7890)
	peers, _ = ps.update(t0.Add(40*time.Second), []netip.AddrPort{first})
	assert.Contains(t, peers, first)
	assert.Equal(t, 0, ps.refused)
}
