package server

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/netaddr"
	"github.com/smile-sockets/smile/internal/resolver"
	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
)

// TestListenNameBindsEveryAddress: -listen HOST:PORT binds every address
// the name resolves to, and an address that cannot be bound is an error,
// never skipped without a word: a half-up server would make a matrix cell
// lie. (Only a host without any IPv6 skips an IPv6 address, and says so in
// the start line.) Names come from a DNS server of the test's own.
func TestListenNameBindsEveryAddress(t *testing.T) {
	dns := dnstest.Start(t)
	dns.AddHost("both.smile.test", "127.0.0.1", "127.0.0.2")
	dns.AddHost("half.smile.test", "127.0.0.1", "192.0.2.1") // TEST-NET-1: on no interface here
	hasV6 := hostHasIPv6()
	if hasV6 {
		dns.AddHost("half6.smile.test", "127.0.0.1", "2001:db8::1") // documentation prefix: on no interface here
	}
	opts := sockOpts{reuseAddr: true, backlog: defaultBacklog(), resolver: resolver.New(dns.Addr)}
	port := smiletest.FreePort(t)
	listen := func(name string) ([]*boundListener, error) {
		spec, err := netaddr.ParseListen(fmt.Sprintf("%s:%d", name, port))
		require.NoError(t, err)
		return listenAll(context.Background(), spec, opts)
	}

	ls, err := listen("both.smile.test")
	require.NoError(t, err)
	require.Len(t, ls, 2)
	assert.Equal(t, fmt.Sprintf("127.0.0.1:%d", port), ls[0].addr.String())
	assert.Equal(t, fmt.Sprintf("127.0.0.2:%d", port), ls[1].addr.String())
	assert.Equal(t, "IPv4 only", ls[0].mode)
	closeAll(ls)

	ls, err = listen("half.smile.test")
	assert.EqualError(t, err, fmt.Sprintf("can't bind to 192.0.2.1:%d: cannot assign requested address", port))
	assert.Empty(t, ls)
	if hasV6 {
		ls, err = listen("half6.smile.test")
		assert.EqualError(t, err, fmt.Sprintf("can't bind to [2001:db8::1]:%d: cannot assign requested address", port))
		assert.Empty(t, ls)
	}
	ls, err = listen("both.smile.test") // nothing was left bound by the failures
	require.NoError(t, err)
	closeAll(ls)
}
