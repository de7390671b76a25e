package integration

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	dockernetwork "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// sites is a routed topology (docs/router.md): two dual-stack networks,
// site A and site B, and a router container with a leg in each that
// forwards both families. Hosts started with host() route the other
// site's subnets through the router, set inside their own namespace; the
// programs' images stay as they are, and join a host's namespace.
type sites struct {
	a, b      *testNet
	routerNum int // the router's host number in both sites
}

// routerHost is the router's host number in both sites, unless sites share
// their networks (withRouter).
const routerHost = 254

// newSites creates both networks on subnets of their own.
func newSites(t *testing.T) *sites {
	t.Helper()
	return &sites{a: newNetwork(t), b: newNetwork(t), routerNum: routerHost}
}

// withRouter is a topology on the same two networks with another router,
// at host number i: several topologies share the networks, each host
// routing the other site through its own topology's router.
func (s *sites) withRouter(i int) *sites { return &sites{a: s.a, b: s.b, routerNum: i} }

// other is the site across the router from nw.
func (s *sites) other(nw *testNet) *testNet {
	if nw == s.a {
		return s.b
	}
	return s.a
}

// routerAddrs are the router's addresses in site nw.
func (s *sites) routerAddrs(nw *testNet) (v4, v6 netip.Addr) { return nw.host(s.routerNum) }

// forwarding are the sysctls of a router's namespace. It sends no ICMP
// redirects: a router that forwards a packet back out of the link it came
// in by (a routing loop) would, and a redirect to a host resets the
// host's ICMP rate limit, so the time-exceeded error that follows it
// would never be sent. Its links are eth0 and eth1, whichever site each
// is.
var forwarding = map[string]string{
	"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1",
	"net.ipv4.conf.all.send_redirects": "0", "net.ipv4.conf.eth0.send_redirects": "0",
}

// routerSysctls are forwarding's, for both of the router's links.
var routerSysctls = func() map[string]string {
	m := map[string]string{"net.ipv4.conf.eth1.send_redirects": "0"}
	for k, v := range forwarding {
		m[k] = v
	}
	return m
}()

// router is the router: the fault helper's image, with NET_ADMIN and
// forwarding in its own namespace only, on both sites at its host number,
// applying faults (netfault arguments, several joined by "+") before it
// holds the namespace; a container to start with others (runAll).
func (s *sites) router(t *testing.T, faults ...string) spec {
	t.Helper()
	b4, b6 := s.routerAddrs(s.b)
	return s.holder(t, "router", s.a, s.routerNum, routerSysctls, nil, faults,
		// Connected to site B before it starts, with a fixed address:
		// testcontainers would connect a second network without one.
		testcontainers.WithAdditionalLifecycleHooks(testcontainers.ContainerLifecycleHooks{
			PostCreates: []testcontainers.ContainerHook{func(ctx context.Context, c testcontainers.Container) error {
				_, err := suite.docker.NetworkConnect(ctx, s.b.ID, client.NetworkConnectOptions{
					Container: c.GetContainerID(),
					EndpointConfig: &dockernetwork.EndpointSettings{
						IPAMConfig: &dockernetwork.EndpointIPAMConfig{IPv4Address: b4, IPv6Address: b6},
					},
				})
				return err
			}},
		}))
}

// hostOpts are what a host in a site needs besides its route.
type hostOpts struct {
	sysctls    map[string]string
	extraHosts []string                             // "name:address" lines of /etc/hosts, for the programs that join it
	advmss     int                                  // the MSS its route to the other site advertises, 0: the link's
	faults     []string                             // netfault faults before the route, joined by "+"
	extra      []testcontainers.ContainerCustomizer // ports to publish for the programs that join it
}

// host is a host in site nw at host number i whose routes to the other
// site go through the router; programs join it (inNamespace,
// serverOpts.holder) or run in it (hostClient). A container to start with
// others (runAll).
func (s *sites) host(t *testing.T, nw *testNet, i int, o hostOpts) spec {
	t.Helper()
	r4, r6 := s.routerAddrs(nw)
	far := s.other(nw)
	route := []string{"route"}
	if o.advmss > 0 {
		route = append(route, "-advmss", strconv.Itoa(o.advmss))
	}
	route = append(route, far.v4.String(), r4.String(), far.v6.String(), r6.String())
	faults := route
	if len(o.faults) > 0 {
		faults = append(append(append([]string(nil), o.faults...), "+"), route...)
	}
	return s.holder(t, "host", nw, i, o.sysctls, o.extraHosts, faults, o.extra...)
}

// holder is the fault helper in its own namespace on nw at host number i,
// with NET_ADMIN there, applying faults before it holds the namespace.
func (s *sites) holder(t *testing.T, what string, nw *testNet, i int, sysctls map[string]string, extraHosts, faults []string,
	more ...testcontainers.ContainerCustomizer) spec {
	t.Helper()
	image := requireNetfault(t)
	hold, execOpts := execHost(t)
	cmd := append(append([]string(nil), faults...), "+")
	if len(faults) == 0 {
		cmd = nil
	}
	cmd = append(cmd, hold...)
	opts := append(common(t, containerName(t, what)),
		testcontainers.WithCmd(cmd...),
		network.WithNetwork(nil, nw.DockerNetwork),
		fixedAddrs(nw, i),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.CapAdd, hc.Sysctls, hc.ExtraHosts = []string{"NET_ADMIN"}, sysctls, extraHosts
		}),
		testcontainers.WithWaitStrategy(wait.ForLog("holding the network namespace").WithStartupTimeout(time.Minute)),
	)
	return spec{image, append(append(opts, execOpts...), more...)}
}
