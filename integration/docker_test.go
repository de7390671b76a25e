package integration

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	dockernetwork "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// greeting is what smile-client prints for the default greeting.
const greeting = "Smile from the server\n"

// port is the default port of the contract.
const port = "7890"

// testNet is a user-defined dual-stack network of one test.
type testNet struct {
	*testcontainers.DockerNetwork
	v4, v6 netip.Prefix // its subnets
	next   atomic.Int32 // host number of the next client
}

// host returns the address with host number n in the network's subnets, for
// containers whose address must be known before they start or after they
// are gone: a server bound to its own address, a client the server's log
// names. Every container on a test network gets a fixed address (clients
// from 10 up, servers from 200 up), so Docker's allocation never collides.
func (n *testNet) host(i int) (v4, v6 netip.Addr) {
	a4 := n.v4.Addr().As4()
	a4[3] = byte(i)
	a6 := n.v6.Addr().As16()
	a6[15] = byte(i)
	return netip.AddrFrom4(a4), netip.AddrFrom16(a6)
}

// nextClient takes the network's next client host number, below the
// servers' (200 up).
func (n *testNet) nextClient(t *testing.T) int {
	t.Helper()
	i := int(n.next.Add(1))
	require.Less(t, i, 200, "too many clients on one network")
	return i
}

// newNetwork creates a dual-stack bridge network on subnets leased from the
// suite's pool (see subnetPool), so that parallel tests and runs never
// collide.
func newNetwork(t *testing.T) *testNet {
	t.Helper()
	requireImages(t) // the Docker client the pool asks for the daemon's subnets
	var nw *testcontainers.DockerNetwork
	l := withSubnets(t, func(l lease) error {
		var err error
		nw, err = network.New(context.Background(),
			network.WithEnableIPv6(),
			network.WithIPAM(&dockernetwork.IPAM{
				Driver: "default",
				Config: []dockernetwork.IPAMConfig{{Subnet: l.v4}, {Subnet: l.v6}},
			}),
			network.WithLabels(runLabels()),
		)
		cleanupNetwork(t, nw)
		return err
	})
	tn := &testNet{DockerNetwork: nw, v4: l.v4, v6: l.v6}
	tn.next.Store(9)
	return tn
}

// nonFatal is a test as its cleanups see it: FailNow marks it failed and
// returns. Go's testing skips the whole report of a test with parallel
// subtests when one of its cleanups calls FailNow (golang/go#76447): no
// "--- FAIL" line, and without -v not even the error, so the run ended in
// a bare FAIL naming no test. testcontainers' CleanupContainer checks with
// require, which calls FailNow.
type nonFatal struct{ *testing.T }

func (n nonFatal) FailNow()                          { n.Fail() }
func (n nonFatal) Fatal(args ...any)                 { n.Error(args...) }
func (n nonFatal) Fatalf(format string, args ...any) { n.Errorf(format, args...) }

// cleanupNetwork removes a network at the end of the test, failing the
// test (never with FailNow, see nonFatal) if it can't. Docker 20.10 now
// and then keeps counting an endpoint on a network after its last
// container is gone, and refuses to remove it ("has active endpoints")
// until the daemon restarts (moby/moby#43286): with no container attached
// that is the daemon's defect, not the test's, and it is logged instead.
func cleanupNetwork(t *testing.T, nw *testcontainers.DockerNetwork) {
	t.Helper()
	t.Cleanup(func() {
		if nw != nil {
			removeNetwork(t, nw.ID, nw.Name)
		}
	})
}

// removeNetwork removes a network now, as cleanupNetwork says: failing the
// test if it can't, but for a network the daemon keeps with no container
// attached, which it logs.
func removeNetwork(t *testing.T, id, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	for range 10 {
		_, err = suite.docker.NetworkRemove(ctx, id, client.NetworkRemoveOptions{})
		if err == nil || cerrdefs.IsNotFound(err) {
			return
		}
		if !strings.Contains(err.Error(), "active endpoints") {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if info, ierr := suite.docker.NetworkInspect(ctx, id, client.NetworkInspectOptions{}); ierr == nil &&
		strings.Contains(err.Error(), "active endpoints") && len(info.Network.Containers) == 0 {
		t.Logf("LEFT BEHIND by the daemon: network %s, no container attached, but %v (moby/moby#43286: only a daemon restart clears it)", name, err)
		return
	}
	t.Errorf("removing network %s: %v", name, err)
}

// containerName returns a unique container name for this run.
func containerName(t *testing.T, what string) string {
	t.Helper()
	return fmt.Sprintf("smile-it-%s-%s-%s", runID, what, randomHex(3))
}

// common are the options of every container: quiet testcontainers logging
// (it goes to the test log) and labels that name the run.
func common(t *testing.T, name string) []testcontainers.ContainerCustomizer {
	t.Helper()
	return []testcontainers.ContainerCustomizer{
		testcontainers.WithName(name),
		testcontainers.WithLogger(log.TestLogger(t)),
		testcontainers.WithLabels(runLabels()),
	}
}

// run starts a container and registers its removal before checking the error,
// so nothing is left behind on failure.
func run(t *testing.T, image string, opts ...testcontainers.ContainerCustomizer) *testcontainers.DockerContainer {
	t.Helper()
	return runAll(t, spec{image, opts})[0]
}

// spec is a container to start: its image and options.
type spec struct {
	image string
	opts  []testcontainers.ContainerCustomizer
}

// runAll starts containers at once, each as run does, and returns them in
// order: a test's containers that don't depend on each other start in the
// time of the slowest.
func runAll(t *testing.T, specs ...spec) []*testcontainers.DockerContainer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ctrs := make([]*testcontainers.DockerContainer, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, sp := range specs {
		wg.Go(func() { ctrs[i], errs[i] = testcontainers.Run(ctx, sp.image, sp.opts...) })
	}
	wg.Wait()
	// Removed at once too, and killed rather than stopped: what a test
	// checks is over by then, and a test with a hundred containers
	// otherwise spends half a minute removing them. A failure fails the
	// test without FailNow (see nonFatal).
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, ctr := range ctrs {
			wg.Go(func() {
				if err := testcontainers.TerminateContainer(ctr, testcontainers.StopTimeout(0)); err != nil {
					t.Errorf("removing a container of %s: %v", ctr.Image, err)
				}
			})
		}
		wg.Wait()
	})
	for _, ctr := range ctrs {
		// Registered after the removal, so it runs before it.
		t.Cleanup(func() { logOnFailure(t, ctr) })
	}
	for i, err := range errs {
		require.NoError(t, err, "starting a container of %s", specs[i].image)
	}
	return ctrs
}

// logOnFailure puts a container's output into the log of a test that
// failed, so that CI shows what the programs said, not only what the test
// expected of them.
func logOnFailure(t *testing.T, ctr *testcontainers.DockerContainer) {
	t.Helper()
	if !t.Failed() || ctr == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := ctr.GetContainerID()
	if info, err := ctr.Inspect(ctx); err == nil {
		name = strings.TrimPrefix(info.Name, "/")
	}
	stdout, stderr, err := containerLogs(ctx, ctr.GetContainerID())
	if err != nil {
		t.Logf("container %s (%s): %v", name, ctr.Image, err)
		return
	}
	t.Logf("container %s (%s), stdout:\n%s\nstderr:\n%s", name, ctr.Image, stdout, stderr)
}

// serverOpts configures a server container.
type serverOpts struct {
	args    []string // the server's arguments
	net     *testNet // the network to join, unless holder is set
	aliases []string // network aliases
	hostNum int      // >0: fixed addresses net.host(hostNum)
	holder  string   // container ID whose network namespace to share
	started int      // "SERVER started" lines to wait for; 0: don't wait
	extra   []testcontainers.ContainerCustomizer
}

// startServer starts a smile-server container and waits for its start lines.
func startServer(t *testing.T, o serverOpts) *testcontainers.DockerContainer {
	t.Helper()
	return runAll(t, serverSpec(t, o))[0]
}

// serverSpec is startServer's container, to start with others (runAll).
func serverSpec(t *testing.T, o serverOpts) spec {
	t.Helper()
	image, _ := requireImages(t)
	opts := append(common(t, containerName(t, "server")), testcontainers.WithCmd(o.args...), noHealthcheck)
	if o.holder != "" {
		opts = append(opts, inNamespace(o.holder))
	} else {
		opts = append(opts, network.WithNetwork(o.aliases, o.net.DockerNetwork))
		if o.hostNum > 0 {
			opts = append(opts, fixedAddrs(o.net, o.hostNum))
		}
	}
	if o.started > 0 {
		opts = append(opts, testcontainers.WithWaitStrategy(
			wait.ForLog("SERVER started").WithOccurrence(o.started).WithStartupTimeout(30*time.Second)))
	}
	return spec{image, append(opts, o.extra...)}
}

// result is how one container run ended.
type result struct {
	exit           int
	stdout, stderr string
	took           time.Duration // the process, from start to exit
	ended          time.Time     // when the process exited, by the daemon's clock
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %v, stdout %q, stderr %q", r.exit, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// fixedAddrs gives a container the addresses with host number i on nw.
func fixedAddrs(nw *testNet, i int) testcontainers.CustomizeRequestOption {
	v4, v6 := nw.host(i)
	return testcontainers.WithEndpointSettingsModifier(func(s map[string]*dockernetwork.EndpointSettings) {
		s[nw.Name].IPAMConfig = &dockernetwork.EndpointIPAMConfig{IPv4Address: v4, IPv6Address: v6}
	})
}

// peer is a client container as the server sees it.
type peer struct {
	name   string // container name, the first label of its PTR name
	v4, v6 netip.Addr
}

// runClient runs smile-client with args in a container on the network, at
// the network's next client address, and returns how it ended and who it
// was.
func runClient(t *testing.T, nw *testNet, args ...string) (result, peer) {
	t.Helper()
	return runClientWith(t, nw, nil, args...)
}

// runClientWith is runClient with namespaced sysctls of the client's own
// namespace.
func runClientWith(t *testing.T, nw *testNet, sysctls map[string]string, args ...string) (result, peer) {
	t.Helper()
	_, image := requireImages(t)
	p := peer{name: containerName(t, "client")}
	i := nw.nextClient(t)
	p.v4, p.v6 = nw.host(i)
	opts := append(common(t, p.name),
		testcontainers.WithCmd(args...),
		testcontainers.WithWaitStrategy(wait.ForExit().WithExitTimeout(time.Minute)),
		network.WithNetwork(nil, nw.DockerNetwork), fixedAddrs(nw, i),
	)
	if len(sysctls) > 0 {
		opts = append(opts, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) { hc.Sysctls = sysctls }))
	}
	return exited(t, runAll(t, spec{image, opts})[0]), p
}

// inNamespace runs a container in another container's network namespace.
func inNamespace(id string) testcontainers.CustomizeRequestOption {
	return testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
		hc.NetworkMode = container.NetworkMode("container:" + id)
	})
}

// exited returns how a container that has stopped ended.
func exited(t *testing.T, ctr *testcontainers.DockerContainer) result {
	t.Helper()
	state, err := ctr.State(context.Background())
	require.NoError(t, err)
	require.False(t, state.Running, "container still running")
	// The process's own run time, not the container's creation under load.
	started, err := time.Parse(time.RFC3339Nano, state.StartedAt)
	require.NoError(t, err)
	finished, err := time.Parse(time.RFC3339Nano, state.FinishedAt)
	require.NoError(t, err)
	stdout, stderr := logs(t, ctr)
	return result{exit: state.ExitCode, stdout: stdout, stderr: stderr, took: finished.Sub(started), ended: finished}
}

// logs returns a container's stdout and stderr so far, kept apart.
func logs(t *testing.T, ctr *testcontainers.DockerContainer) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stdout, stderr, err := containerLogs(ctx, ctr.GetContainerID())
	require.NoError(t, err)
	return stdout, stderr
}

// containerLogs returns the stdout and stderr of container id so far.
func containerLogs(ctx context.Context, id string) (stdout, stderr string, err error) {
	rc, err := suite.docker.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "", "", fmt.Errorf("logs of container %s: %w", id, err)
	}
	defer func() { _ = rc.Close() }()
	var out, errOut bytes.Buffer
	if _, err := stdcopyLogs(&out, &errOut, rc); err != nil {
		return "", "", fmt.Errorf("logs of container %s: %w", id, err)
	}
	return out.String(), errOut.String(), nil
}

// pollLogs reads a container's stdout until done accepts it or within has
// passed, and returns the last one read. It polls in the test's own
// goroutine: a condition run by assert.Eventually runs in a goroutine of
// its own that Eventually abandons when it gives up, and such a straggler
// that fails its test after the test has ended panics and takes the whole
// test binary down, with every other test's cleanup.
func pollLogs(t *testing.T, ctr *testcontainers.DockerContainer, within time.Duration, done func(stdout string) bool) (string, bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		stdout, _ := logs(t, ctr)
		if done(stdout) {
			return stdout, true
		}
		if time.Now().After(deadline) {
			return stdout, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stdcopyLogs splits Docker's multiplexed log stream into stdout and stderr.
var stdcopyLogs = stdcopy.StdCopy

// addrs returns a container's IPv4 and IPv6 address on the network, from Inspect.
func addrs(t *testing.T, ctr *testcontainers.DockerContainer, nw *testNet) (v4, v6 netip.Addr) {
	t.Helper()
	info, err := ctr.Inspect(context.Background())
	require.NoError(t, err)
	ep, ok := info.NetworkSettings.Networks[nw.Name]
	require.True(t, ok, "container is not on network %s", nw.Name)
	require.True(t, ep.IPAddress.Is4(), "no IPv4 address: %v", ep.IPAddress)
	require.True(t, ep.GlobalIPv6Address.Is6(), "no IPv6 address: %v", ep.GlobalIPv6Address)
	return ep.IPAddress, ep.GlobalIPv6Address
}

// inCI reports whether this is a CI run, where a missing tool is a failure.
func inCI() bool { return os.Getenv("CI") != "" }
