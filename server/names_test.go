package server

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/smile-sockets/smile/internal/resolver"
	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
)

// TestNamerBoundsTheWaiting: connections from a peer whose lookup hangs
// wait for its name up to maxWaiting; the ones past that are logged by
// address at once, so the lines a lookup releases when it ends fit the
// log's buffer.
func TestNamerBoundsTheWaiting(t *testing.T) {
	dns := dnstest.Start(t)
	dns.SetSilent(true)
	n := newNamer(resolver.New(dns.Addr), 500*time.Millisecond)
	const extra = 7
	var now, later atomic.Int64
	for range maxWaiting + extra {
		immediate := true
		n.name(netip.MustParseAddr("127.0.0.2"), func(name string) {
			assert.Empty(t, name, "the dead server names nobody")
			if immediate {
				now.Add(1)
			} else {
				later.Add(1)
			}
		})
		immediate = false
	}
	assert.Equal(t, int64(extra), now.Load(), "past maxWaiting peers are logged at once")
	n.wait()
	assert.Equal(t, int64(maxWaiting), later.Load(), "the others when the lookup ended")
}
