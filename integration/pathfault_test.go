package integration

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// faultEnv is where a row's fault goes: the server of the row, and the
// namespace its clients run in when the fault is theirs.
type faultEnv struct {
	t      *testing.T
	nw     *testNet
	srv    *testcontainers.DockerContainer
	a      faultAddrs // the server's addresses and name
	holder string     // the clients' network namespace (a container ID), or ""
}

// inServer puts a packet filter into the server's network namespace.
func inServer(args ...string) faultSetup {
	return func(env *faultEnv) { netfault(env.t, env.srv.GetContainerID(), args...) }
}

// inClient removes the clients' routes to the server's address of the given
// family (the IPv6 one): the clients share one namespace for this row.
func inClient(fault string) faultSetup {
	return func(env *faultEnv) { netfault(env.t, env.holder, fault, env.a.v6) }
}

// paused freezes the server's processes: its kernel still completes
// handshakes from the listen queue.
func paused(env *faultEnv) {
	t, id := env.t, env.srv.GetContainerID()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := suite.docker.ContainerPause(ctx, id, client.ContainerPauseOptions{})
	require.NoError(t, err, "docker pause")
	// Cleanups run last-in first-out: unpaused before it is removed.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = suite.docker.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{})
	})
}

// stopped stops the server's container: its address stays inside the
// network's subnets, so the clients' kernels still route it on-link, but
// nobody answers ARP or neighbour discovery for it.
func stopped(env *faultEnv) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	timeout := 5
	_, err := suite.docker.ContainerStop(ctx, env.srv.GetContainerID(), client.ContainerStopOptions{Timeout: &timeout})
	require.NoError(env.t, err, "docker stop")
}

// TestPathFaults runs every cell of the path-fault table: for each row a
// server with the row's fault on its path, for each column a client naming
// it that way. Rows and cells run in parallel; the slowest cells wait one
// -timeout.
func TestPathFaults(t *testing.T) {
	t.Parallel()
	requireImages(t)
	requireNetfault(t)
	nw := newNetwork(t)
	start := time.Now()
	t.Cleanup(func() {
		t.Logf("path-fault matrix: %d rows in %v", len(faultRows), time.Since(start).Round(time.Millisecond))
	})

	for i, row := range faultRows {
		t.Run(row.fault, func(t *testing.T) {
			t.Parallel()
			env := &faultEnv{t: t, nw: nw, a: faultAddrs{name: "smile-fault-" + randomHex(3)}}
			hostNum := 200 + i
			env.srv = startServer(t, serverOpts{args: row.server, net: nw, aliases: []string{env.a.name}, hostNum: hostNum, started: 1})
			v4, v6 := addrs(t, env.srv, nw)
			env.a.v4, env.a.v6 = v4.String(), v6.String()
			if row.inClient {
				env.holder = netfaultHolder(t, nw)
			}
			if row.setup != nil {
				row.setup(env)
			}
			timeout := row.clientTimeout().String()
			flags := []string{"-timeout", timeout, "-read-timeout", timeout}
			for col, name := range faultColumns {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					if col == colEach {
						res := runFaultClient(t, env, row, append(flags, "-each", "-json", env.a.name, port)...)
						checkEach(t, row, env.a, res)
						return
					}
					host := map[int]string{colIPv4: env.a.v4, colIPv6: env.a.v6, colName: env.a.name}[col]
					res := runFaultClient(t, env, row, append(flags, host, port)...)
					checkCell(t, row, col, env.a, res)
				})
			}
		})
	}
}

// runFaultClient runs smile-client for one cell: on the row's network, or
// in the row's client namespace; with the server's name in /etc/hosts when
// Docker's DNS can no longer answer for it.
func runFaultClient(t *testing.T, env *faultEnv, row faultRow, args ...string) result {
	t.Helper()
	o := clientOpts{namespace: env.holder}
	if row.hosts {
		o.extraHosts = []string{env.a.name + ":" + env.a.v4, env.a.name + ":" + env.a.v6}
	}
	res, _ := runClientWith(t, env.nw, o, args...)
	t.Logf("%v", res)
	return res
}

// checkCell asserts one cell of the dotted IPv4, IPv6 literal or hostname
// column: exit code, exactly the line on stderr, the greeting, the time.
func checkCell(t *testing.T, row faultRow, col int, a faultAddrs, res result) {
	t.Helper()
	w := map[int]pathWant{colIPv4: row.v4, colIPv6: row.v6}[col]
	if col == colName {
		w, _ = row.name()
	}
	want := row.stderr(col, a)
	if w.ok() {
		assert.Equal(t, 0, res.exit, "%v", res)
		assert.Empty(t, res.stderr, "%v", res)
		greeting := "Smile from the server"
		if len(row.server) == 2 && row.server[0] == "-greeting" {
			greeting = row.server[1]
		}
		assert.Equal(t, greeting+"\n", res.stdout, "%v", res)
	} else {
		assert.Equal(t, 1, res.exit, "%v", res)
		assert.Equal(t, want, res.stderr, "%v", res)
		assert.Empty(t, res.stdout, "%v", res)
	}
	lo, hi := w.took.bounds(row.clientTimeout())
	assert.GreaterOrEqual(t, res.took, lo, "%v", res)
	assert.Less(t, res.took, hi, "%v", res)
}

// eachJSON is the part of a -each -json row the matrix checks.
type eachJSON struct {
	Address, Family, Via, Class, Stage string
	OK                                 bool
}

// checkEach asserts the -each column from its -json rows: one per address,
// one for the name, each with the outcome of that address alone.
func checkEach(t *testing.T, row faultRow, a faultAddrs, res result) {
	t.Helper()
	name, _ := row.name()
	wantExit := 0
	if !row.v4.ok() || !row.v6.ok() {
		wantExit = 1
	}
	assert.Equal(t, wantExit, res.exit, "%v", res)
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	require.Len(t, lines, 4, "three rows and the summary: %v", res)
	want := []struct {
		via, address string
		w            pathWant
	}{
		{"address", a.target(colIPv4), row.v4},
		{"address", a.target(colIPv6), row.v6},
		{"name", "", name},
	}
	for i, wr := range want {
		var got eachJSON
		require.NoError(t, json.Unmarshal([]byte(lines[i]), &got), "%s", lines[i])
		assert.Equal(t, wr.via, got.Via, "row %d: %s", i, lines[i])
		if wr.address != "" {
			assert.Equal(t, wr.address, got.Address, "row %d: %s", i, lines[i])
		}
		assert.Equal(t, wr.w.ok(), got.OK, "row %d: %s", i, lines[i])
		assert.Equal(t, wr.w.class, got.Class, "row %d: %s", i, lines[i])
		if !wr.w.ok() {
			stage := map[bool]string{true: "read", false: "connect"}[wr.w.connected]
			assert.Equal(t, stage, got.Stage, "row %d: %s", i, lines[i])
		}
	}
	_, hi := max(row.v4.took, row.v6.took).bounds(row.clientTimeout())
	assert.Less(t, res.took, hi, "%v", res)
}

// netfaultHolder starts a container that only holds a network namespace on
// nw, for clients whose own namespace gets a fault, and returns its ID.
func netfaultHolder(t *testing.T, nw *testNet) string {
	t.Helper()
	image := requireNetfault(t)
	i := int(nw.next.Add(1))
	ctr := run(t, image, append(common(t, containerName(t, "holder")),
		testcontainers.WithCmd("hold"),
		network.WithNetwork(nil, nw.DockerNetwork),
		fixedAddrs(nw, i),
		testcontainers.WithWaitStrategy(wait.ForLog("holding the network namespace").WithStartupTimeout(30*time.Second)),
	)...)
	return ctr.GetContainerID()
}

// netfault runs the fault helper in the network namespace of container id,
// with NET_ADMIN for that namespace only, and requires it to succeed.
func netfault(t *testing.T, id string, args ...string) {
	t.Helper()
	image := requireNetfault(t)
	ctr := run(t, image, append(common(t, containerName(t, "netfault")),
		testcontainers.WithCmd(args...),
		inNamespace(id),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) { hc.CapAdd = []string{"NET_ADMIN"} }),
		testcontainers.WithWaitStrategy(wait.ForExit().WithExitTimeout(time.Minute)),
	)...)
	res := exited(t, ctr)
	require.Equal(t, 0, res.exit, "netfault %s: %v", strings.Join(args, " "), res)
}
