package integration

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	dockernetwork "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go/network"
)

// composeDefault4 is the compose demo's own IPv4 subnet (docker-compose.yml),
// left free so that `make up` can run beside the suite.
var composeDefault4 = netip.MustParsePrefix("172.30.231.0/24")

// suiteRange4 is where the suite's IPv4 /24s come from.
var suiteRange4 = netip.MustParsePrefix("172.30.0.0/16")

// lease is the pair of subnets of one test network.
type lease struct{ v4, v6 netip.Prefix }

// subnetPool hands out the subnets of every network the suite creates, its
// own and the compose project's, from one place: drawing them at random per
// test made two parallel tests pick the same /24 now and then, and the test
// that lost failed. A lease is never given twice while it is held, a subnet
// of any network the daemon already has (another run, the compose demo,
// another project) is skipped, and one the daemon refused as overlapping
// (a network created by another process since) is never offered again.
type subnetPool struct {
	// daemon lists the subnets of the daemon's networks.
	daemon func(context.Context) ([]netip.Prefix, error)

	mu      sync.Mutex
	held    map[netip.Prefix]bool // leased to a test of this process
	refused map[netip.Prefix]bool // the daemon called it an overlap
}

func newSubnetPool(daemon func(context.Context) ([]netip.Prefix, error)) *subnetPool {
	return &subnetPool{daemon: daemon, held: map[netip.Prefix]bool{}, refused: map[netip.Prefix]bool{}}
}

// subnets is the pool of this test process.
var subnets = newSubnetPool(daemonSubnets)

// daemonSubnets returns the subnets of every network on the Docker daemon.
func daemonSubnets(ctx context.Context) ([]netip.Prefix, error) {
	if suite.docker == nil {
		return nil, errors.New("no docker client")
	}
	res, err := suite.docker.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing networks: %w", err)
	}
	var out []netip.Prefix
	for _, nw := range res.Items {
		for _, c := range nw.IPAM.Config {
			if c.Subnet.IsValid() {
				out = append(out, c.Subnet)
			}
		}
	}
	return out, nil
}

// acquire leases an IPv4 /24 in 172.30.0.0/16 and a ULA /64 with a random
// global ID, chosen at random among those free here and on the daemon, so
// that two processes starting at once rarely pick the same one either.
func (p *subnetPool) acquire(ctx context.Context) (lease, error) {
	inUse, err := p.daemon(ctx)
	if err != nil {
		return lease{}, fmt.Errorf("subnets: %w", err)
	}
	overlaps := func(c netip.Prefix) bool {
		for _, u := range inUse {
			if u.Overlaps(c) {
				return true
			}
		}
		return p.held[c] || p.refused[c]
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	var free []netip.Prefix
	base := suiteRange4.Addr().As4()
	for i := range 256 {
		a := base
		a[2] = byte(i)
		c := netip.PrefixFrom(netip.AddrFrom4(a), 24)
		if c != composeDefault4 && !overlaps(c) {
			free = append(free, c)
		}
	}
	if len(free) == 0 {
		return lease{}, fmt.Errorf("subnets: no free /24 in %v: %d held by this run, %d refused, %d subnets on the daemon",
			suiteRange4, count4(p.held), count4(p.refused), len(inUse))
	}
	l := lease{v4: free[mathrand.IntN(len(free))]}
	for l.v6 = randomULA(); overlaps(l.v6); l.v6 = randomULA() {
	}
	p.held[l.v4], p.held[l.v6] = true, true
	return l, nil
}

// release returns a lease whose network is gone.
func (p *subnetPool) release(l lease) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.held, l.v4)
	delete(p.held, l.v6)
}

// refuse records that the daemon refused a lease as overlapping a network
// it has: the lease is not held any more, and never offered again.
func (p *subnetPool) refuse(l lease) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.held, l.v4)
	delete(p.held, l.v6)
	p.refused[l.v4], p.refused[l.v6] = true, true
}

// count4 counts the IPv4 subnets in a set.
func count4(set map[netip.Prefix]bool) int {
	n := 0
	for p := range set {
		if p.Addr().Is4() {
			n++
		}
	}
	return n
}

// randomULA returns a unique local /64 (fd00::/8) with a random global ID.
func randomULA() netip.Prefix {
	var a [16]byte
	a[0] = 0xfd
	_, _ = rand.Read(a[1:6])
	return netip.PrefixFrom(netip.AddrFrom16(a), 64)
}

// isOverlap reports whether the daemon refused a network because one of its
// subnets overlaps a network it already has ("Pool overlaps with other one
// on this address space", and its wordings in other Docker versions).
func isOverlap(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "overlap")
}

// withSubnets leases subnets and calls create with them until the daemon
// accepts them, for a network that lives until the end of the test: the
// lease goes back to the pool after the cleanups that create registers
// (which remove the network) have run.
func withSubnets(t *testing.T, create func(l lease) error) lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	for range 8 {
		var l lease
		l, err = subnets.acquire(ctx)
		require.NoError(t, err)
		// Registered first, so it runs after create's own cleanups.
		t.Cleanup(func() { subnets.release(l) })
		if err = create(l); !isOverlap(err) {
			require.NoError(t, err, "creating a network on %v and %v", l.v4, l.v6)
			return l
		}
		t.Logf("subnets %v and %v overlap a network created by another process, taking others: %v", l.v4, l.v6, err)
		subnets.refuse(l)
	}
	require.NoError(t, err, "creating a network: every subnet tried overlaps another network")
	return lease{}
}

// TestSubnetPool proves the pool under parallel use: leases held at once
// never share a subnet, never meet a subnet of the daemon's or the compose
// demo's, a released lease can be had again, a refused one cannot, and an
// exhausted pool says why instead of handing out a duplicate.
func TestSubnetPool(t *testing.T) {
	t.Parallel()
	onDaemon := []netip.Prefix{
		netip.MustParsePrefix("172.30.0.0/20"),  // 172.30.0-15.0/24
		netip.MustParsePrefix("172.30.99.0/24"), // one /24
		netip.MustParsePrefix("172.17.0.0/16"),  // docker0, outside the range
	}
	pool := newSubnetPool(func(context.Context) ([]netip.Prefix, error) { return onDaemon, nil })
	ctx := context.Background()
	// 256 /24s, minus 16 + 1 on the daemon, minus the compose demo's.
	const capacity = 256 - 17 - 1

	// Every goroutine holds its leases until all are out, then returns them.
	const workers, each = 16, capacity / 16
	var (
		mu     sync.Mutex
		leases []lease
		wg     sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for range each {
				l, err := pool.acquire(ctx)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				leases = append(leases, l)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, leases, workers*each)
	seen := map[netip.Prefix]bool{}
	for _, l := range leases {
		for _, p := range []netip.Prefix{l.v4, l.v6} {
			assert.False(t, seen[p], "subnet %v leased twice", p)
			seen[p] = true
		}
		assert.True(t, suiteRange4.Contains(l.v4.Addr()) && l.v4.Bits() == 24, "IPv4 subnet %v", l.v4)
		assert.True(t, netip.MustParsePrefix("fd00::/8").Contains(l.v6.Addr()) && l.v6.Bits() == 64, "IPv6 subnet %v", l.v6)
		assert.NotEqual(t, composeDefault4, l.v4, "the compose demo's subnet")
		for _, d := range onDaemon {
			assert.False(t, d.Overlaps(l.v4), "%v overlaps the daemon's %v", l.v4, d)
		}
	}

	// The rest of the range, then nothing.
	var rest []lease
	for range capacity - workers*each {
		l, err := pool.acquire(ctx)
		require.NoError(t, err)
		require.False(t, seen[l.v4], "subnet %v leased twice", l.v4)
		rest = append(rest, l)
	}
	_, err := pool.acquire(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("no free /24 in 172.30.0.0/16: %d held by this run, 0 refused, 3 subnets on the daemon", capacity))

	// Released: available again. Refused: never again.
	pool.release(rest[0])
	again, err := pool.acquire(ctx)
	require.NoError(t, err)
	assert.Equal(t, rest[0].v4, again.v4)
	pool.refuse(again)
	_, err = pool.acquire(ctx)
	require.Error(t, err, "a refused subnet is offered again")
	assert.Contains(t, err.Error(), "1 refused")

	// The daemon's answer is required: a pool that can't see it guesses.
	broken := newSubnetPool(func(context.Context) ([]netip.Prefix, error) { return nil, errors.New("listing networks: EOF") })
	_, err = broken.acquire(ctx)
	require.EqualError(t, err, "subnets: listing networks: EOF")
}

// TestDaemonRefusesAnOverlap pins the daemon's wording that withSubnets
// retries on: a network on subnets another network has is refused, and
// isOverlap recognises the refusal (Docker has worded it differently
// across versions).
func TestDaemonRefusesAnOverlap(t *testing.T) {
	t.Parallel()
	first := newNetwork(t)
	nw, err := network.New(context.Background(),
		network.WithEnableIPv6(),
		network.WithIPAM(&dockernetwork.IPAM{
			Driver: "default",
			Config: []dockernetwork.IPAMConfig{{Subnet: first.v4}, {Subnet: randomULA()}},
		}),
		network.WithLabels(runLabels()),
	)
	cleanupNetwork(t, nw)
	require.Error(t, err, "a second network on %v", first.v4)
	assert.True(t, isOverlap(err), "not recognised as an overlap: %v", err)
}
