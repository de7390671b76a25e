package integration

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/matrix"
)

// faultEnv is where a row's fault goes: the server of the row, and the
// namespace its clients run in when the fault is theirs.
type faultEnv struct {
	t        *testing.T
	nw       *testNet
	srv      *testcontainers.DockerContainer
	a        matrix.Addrs // the server's addresses and name
	holder   string       // the host the clients run in (a container ID)
	oneByOne bool         // the row's clients run one after another
}

// setFault puts the row's fault in place.
func setFault(env *faultEnv, row matrix.PathFault) {
	args := make([]string, len(row.Netfault))
	for i, a := range row.Netfault {
		args[i] = strings.ReplaceAll(a, "{v6}", env.a.V6)
	}
	switch row.Where {
	case matrix.InServer:
		netfault(env.t, env.srv.GetContainerID(), args...)
	case matrix.InClient:
		netfault(env.t, env.holder, args...)
	case matrix.PauseServer:
		paused(env)
	case matrix.StopServer:
		stopped(env)
	}
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
	t.Cleanup(func() { _ = unpause(id) })
}

// unpause thaws a paused container; one that is not paused is an error.
func unpause(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := suite.docker.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{})
	return err
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
		t.Logf("path-fault matrix: %d rows in %v", len(matrix.PathFaults), time.Since(start).Round(time.Millisecond))
	})
	// The clients of the rows whose fault is not in the client's own
	// namespace, nor needs its /etc/hosts, run on one host.
	clients, _ := clientHost(t, nw)

	for i, row := range matrix.PathFaults {
		t.Run(row.Fault, func(t *testing.T) {
			t.Parallel()
			env := &faultEnv{t: t, nw: nw, a: matrix.Addrs{Name: "smile-fault-" + randomHex(3)}, holder: clients}
			env.srv = startServer(t, serverOpts{args: row.Server, net: nw, aliases: []string{env.a.Name}, hostNum: 200 + i, started: 1})
			v4, v6 := addrs(t, env.srv, nw)
			env.a.V4, env.a.V6 = v4.String(), v6.String()
			switch row.Where {
			case matrix.InClient:
				env.holder, _ = clientHost(t, nw)
			case matrix.StopServer:
				// A host of its own that holds the server's name, since
				// Docker's DNS no longer answers for a stopped container;
				// its clients one after another: clients at once share
				// the neighbour cache's one entry for the server, and one
				// gave up on ND 0.4 s early, when another's attempt ended.
				env.holder, _ = clientHost(t, nw, env.a.Name+":"+env.a.V4, env.a.Name+":"+env.a.V6)
				env.oneByOne = true
			}
			setFault(env, row)
			checkColumns(t, row, env.a, !env.oneByOne, func(t *testing.T, args ...string) result {
				t.Helper()
				return runFaultClient(t, env, args...)
			})
		})
	}
}

// checkColumns runs a client for every column of a path-fault row, in
// parallel subtests or one after another, with the row's timeouts, and
// checks each cell.
func checkColumns(t *testing.T, row matrix.PathFault, a matrix.Addrs, parallel bool, client func(t *testing.T, args ...string) result) {
	t.Helper()
	for col, args := range columnArgs(row, a) {
		t.Run(matrix.PathColumns[col], func(t *testing.T) {
			if parallel {
				t.Parallel()
			}
			checkColumn(t, row, col, a, client(t, args...))
		})
	}
}

// columnArgs are the client's arguments for each column of a path-fault
// row: the row's timeouts, and the server named as the column names it.
func columnArgs(row matrix.PathFault, a matrix.Addrs) [][]string {
	timeout := row.ClientTimeout().String()
	flags := []string{"-timeout", timeout, "-read-timeout", timeout}
	args := make([][]string, len(matrix.PathColumns))
	for col := range matrix.PathColumns {
		switch col {
		case matrix.ColEach:
			args[col] = append(slices.Clone(flags), "-each", "-json", a.Name, port)
		default:
			host := map[int]string{matrix.ColIPv4: a.V4, matrix.ColIPv6: a.V6, matrix.ColName: a.Name}[col]
			args[col] = append(slices.Clone(flags), host, port)
		}
	}
	return args
}

// checkColumn checks one cell of a path-fault row.
func checkColumn(t *testing.T, row matrix.PathFault, col int, a matrix.Addrs, res result) {
	t.Helper()
	if col == matrix.ColEach {
		checkEach(t, row, a, res)
		return
	}
	checkCell(t, row, col, a, res)
}

// runFaultClient runs smile-client for one cell as a process in the row's
// client host (hostClient).
func runFaultClient(t *testing.T, env *faultEnv, args ...string) result {
	t.Helper()
	res := hostClient(t, env.holder, args...)
	t.Logf("%v", res)
	return res
}

// checkCell asserts one cell of the dotted IPv4, IPv6 literal or hostname
// column: exit code, exactly the line on stderr, the greeting, the time.
func checkCell(t *testing.T, row matrix.PathFault, col int, a matrix.Addrs, res result) {
	t.Helper()
	w := map[int]matrix.Want{matrix.ColIPv4: row.V4, matrix.ColIPv6: row.V6}[col]
	if col == matrix.ColName {
		w, _ = row.Name()
	}
	if w.OK() {
		assert.Equal(t, 0, res.exit, "%v", res)
		assert.Empty(t, res.stderr, "%v", res)
		assert.Equal(t, row.Greeting()+"\n", res.stdout, "%v", res)
	} else {
		assert.Equal(t, 1, res.exit, "%v", res)
		assert.Equal(t, row.Stderr(col, a), res.stderr, "%v", res)
		assert.Empty(t, res.stdout, "%v", res)
	}
	lo, hi := w.Took.Bounds(row.ClientTimeout())
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
func checkEach(t *testing.T, row matrix.PathFault, a matrix.Addrs, res result) {
	t.Helper()
	wantExit := 0
	if !row.V4.OK() || !row.V6.OK() {
		wantExit = 1
	}
	assert.Equal(t, wantExit, res.exit, "%v", res)
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	require.Len(t, lines, 4, "three rows and the summary: %v", res)
	smiletest.JSONLines(t, res.stdout)
	vias := [3]string{"address", "address", "name"}
	addresses := [3]string{a.Target(matrix.ColIPv4), a.Target(matrix.ColIPv6), ""}
	for i, w := range row.Each() {
		var got eachJSON
		require.NoError(t, json.Unmarshal([]byte(lines[i]), &got), "%s", lines[i])
		assert.Equal(t, vias[i], got.Via, "row %d: %s", i, lines[i])
		if addresses[i] != "" {
			assert.Equal(t, addresses[i], got.Address, "row %d: %s", i, lines[i])
		}
		assert.Equal(t, w.OK(), got.OK, "row %d: %s", i, lines[i])
		assert.Equal(t, w.Class, got.Class, "row %d: %s", i, lines[i])
		if !w.OK() {
			stage := map[bool]string{true: "read", false: "connect"}[w.Connected]
			assert.Equal(t, stage, got.Stage, "row %d: %s", i, lines[i])
		}
	}
	_, hi := max(row.V4.Took, row.V6.Took).Bounds(row.ClientTimeout())
	assert.Less(t, res.took, hi, "%v", res)
}

// netfault runs the fault helper in the network namespace of container id,
// with NET_ADMIN for that namespace only, requires it to succeed, and
// returns how it ran: the fault is in place from its end on.
func netfault(t *testing.T, id string, args ...string) result {
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
	return res
}
