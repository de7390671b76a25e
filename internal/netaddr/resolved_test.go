package netaddr

import (
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUnique(t *testing.T) {
	in := []netip.Addr{
		netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::ffff:127.0.0.1"),
		netip.MustParseAddr("::1"), netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("::1"),
	}
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"), netip.MustParseAddr("10.0.0.1")}, Unique(in))
	assert.Empty(t, Unique(nil))
}

func TestAddrPortOf(t *testing.T) {
	cases := []struct {
		in   net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 80}, "192.0.2.1:80"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 443}, "[2001:db8::1]:443"},
		{&net.UDPAddr{IP: net.ParseIP("::ffff:10.0.0.1"), Port: 53}, "10.0.0.1:53"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, AddrPortOf(c.in).String())
	}
	assert.False(t, AddrPortOf(nil).IsValid())
}
