package integration

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/smile-sockets/smile/internal/smiletest/matrix"
	"github.com/smile-sockets/smile/internal/smiletest/procfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// stopGrace is the docker stop grace period: the server must exit 0 inside it.
const stopGrace = 10 * time.Second

// noHealthcheck turns the image's HEALTHCHECK off: its probes would connect
// to the server and leave TIME_WAIT sockets of their own on its port.
var noHealthcheck = testcontainers.WithConfigModifier(func(c *container.Config) {
	c.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
})

// TestRestart runs every row of the restart table. TIME_WAIT lives in the
// network namespace, so each row holds one in a holder container (a server
// on another port) and runs the old and the new server in it with
// --network container:<holder>, replacing only the server. The clients
// are processes in one host (hostClient).
func TestRestart(t *testing.T) {
	t.Parallel()
	image, _ := requireImages(t)
	nw := newNetwork(t)
	clients, _ := clientHost(t, nw)

	for i, row := range matrix.Restart {
		if row.NewNamespace {
			continue // the control row, below
		}
		t.Run(row.Name, func(t *testing.T) {
			t.Parallel()
			holder := startServer(t, serverOpts{
				args: []string{"-listen", "127.0.0.1:7999"}, net: nw, hostNum: 200 + i, started: 1,
			})
			target, _ := addrs(t, holder, nw)

			old := startServer(t, serverOpts{
				args: []string{"-reuseaddr=" + strconv.FormatBool(row.OldReuse)}, holder: holder.GetContainerID(), started: 1,
			})
			if row.Served {
				res := hostClient(t, clients, target.String(), port)
				require.Equal(t, 0, res.exit, "the old server greets: %v", res)
				require.Equal(t, greeting, res.stdout)
			}
			if !row.Keep {
				stopServer(t, old)
				if n, ok := timeWait(t, holder); ok {
					if row.Served {
						assert.Positive(t, n, "the served connection is in TIME_WAIT on port %s", port)
					} else {
						assert.Zero(t, n, "no connection, no TIME_WAIT on port %s", port)
					}
				}
			}

			newArgs := []string{"-reuseaddr=" + strconv.FormatBool(row.NewReuse)}
			if row.Starts {
				startServer(t, serverOpts{args: newArgs, holder: holder.GetContainerID(), started: 1})
			} else {
				failed := runOnce(t, image, append(common(t, containerName(t, "server")),
					testcontainers.WithCmd(newArgs...), noHealthcheck,
					testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
						hc.NetworkMode = container.NetworkMode("container:" + holder.GetContainerID())
					}))...)
				assert.Equal(t, 1, failed.exit, "the new server can't bind: %v", failed)
				assert.Regexp(t, `^smile-server: can't bind to \[::\]:7890: address already in use\n$`, failed.stderr, "%v", failed)
			}

			if row.Starts || row.Keep {
				res := hostClient(t, clients, target.String(), port)
				assert.Equal(t, 0, res.exit, "the next client is greeted: %v", res)
				assert.Equal(t, greeting, res.stdout)
			}
			if row.Keep {
				state, err := old.State(context.Background())
				require.NoError(t, err)
				assert.True(t, state.Running, "the old server keeps serving")
				// The line follows the reverse lookup, which may finish
				// after the greeting.
				stdout, _ := pollLogs(t, old, 10*time.Second, func(stdout string) bool {
					return strings.Count(stdout, "Connection received from") >= 2
				})
				assert.Equal(t, 2, strings.Count(stdout, "Connection received from"), "the old server greeted both clients:\n%s", stdout)
			}
		})
	}

	// The control row: `docker restart` gives the container a new network
	// namespace, and with it no TIME_WAIT, so even -reuseaddr=false starts.
	control := matrix.Restart[len(matrix.Restart)-1]
	require.True(t, control.NewNamespace && control.Starts && !control.OldReuse && !control.NewReuse, "the restart table ends with its control row")
	t.Run(control.Name, func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{
			args: []string{"-reuseaddr=false"}, net: nw, hostNum: 250, started: 1,
		})
		target, _ := addrs(t, srv, nw)
		res := hostClient(t, clients, target.String(), port)
		served := time.Now()
		require.Equal(t, 0, res.exit, "served before the restart: %v", res)
		before, haveBefore := timeWait(t, srv)
		if haveBefore {
			assert.Positive(t, before, "the served connection is in TIME_WAIT before the restart")
		}

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		timeout := int(stopGrace.Seconds())
		_, err := suite.docker.ContainerRestart(ctx, srv.GetContainerID(), client.ContainerRestartOptions{Timeout: &timeout})
		require.NoError(t, err)
		stdout, started := pollLogs(t, srv, 30*time.Second, func(stdout string) bool {
			return strings.Count(stdout, "SERVER started") == 2
		})
		require.True(t, started, "the restarted server starts:\n%s", stdout)
		// The namespace is new: the served connection's TIME_WAIT, which
		// lives 60 s in the namespace it was made in, is not in this one.
		// Seen through /proc/<pid>/net, which any user may read, unlike
		// /proc/<pid>/ns/net (a non-root runner can't read that of a
		// process of another user, and a freed namespace's inode number
		// can be given to the next one).
		if after, ok := timeWait(t, srv); ok && haveBefore && before > 0 {
			require.Less(t, time.Since(served), timeWaitLen-10*time.Second, "too slow to tell: the TIME_WAIT could have ended by itself")
			assert.Zero(t, after, "no TIME_WAIT from before the restart: docker restart gives a new network namespace")
		}

		res = hostClient(t, clients, target.String(), port)
		assert.Equal(t, 0, res.exit, "the restarted server greets: %v", res)
		assert.Equal(t, greeting, res.stdout)
	})
}

// runOnce runs a container to its exit and returns how it ended.
func runOnce(t *testing.T, image string, opts ...testcontainers.ContainerCustomizer) result {
	t.Helper()
	opts = append(opts, testcontainers.WithWaitStrategy(wait.ForExit().WithExitTimeout(time.Minute)))
	return exited(t, run(t, image, opts...))
}

// stopServer stops a server as docker stop does (SIGTERM, then SIGKILL after
// the grace period) and checks that it shut down cleanly: exit 0, with a
// shutdown line in its log. Exit 0 is also the proof that it exited inside
// the grace period, since a SIGKILL would have made it 137; the time the
// whole docker stop took is the daemon's as much as the server's, and only
// logged (on a loaded machine the daemon alone took more than 10 s).
func stopServer(t *testing.T, srv *testcontainers.DockerContainer) {
	t.Helper()
	grace := stopGrace
	start := time.Now()
	require.NoError(t, srv.Stop(context.Background(), &grace))
	t.Logf("docker stop took %v", time.Since(start).Round(time.Millisecond))
	res := exited(t, srv)
	assert.Equal(t, 0, res.exit, "exit code after SIGTERM, 137 if the grace period ran out: %v", res)
	assert.Contains(t, res.stdout, "shutdown", "a shutdown line in the log")
}

// timeWaitLen is how long Linux keeps a socket in TIME_WAIT
// (TCP_TIMEWAIT_LEN).
const timeWaitLen = 60 * time.Second

// timeWait counts the TCP sockets in TIME_WAIT whose local port is the
// server's, in the network namespace of ctr, read from /proc/<pid>/net on
// the Docker host, which any user may read. ok is false where the
// daemon's processes are out of reach (a remote daemon, another PID
// namespace): a failure in CI, where the daemon is local, and a loud
// note elsewhere; the bind results remain the proof there.
func timeWait(t *testing.T, ctr *testcontainers.DockerContainer) (n int, ok bool) {
	t.Helper()
	info, err := ctr.Inspect(context.Background())
	require.NoError(t, err)
	n, err = procfs.TimeWaitIn(fmt.Sprintf("/proc/%d/net", info.State.Pid), 7890)
	if err != nil {
		if inCI() {
			t.Errorf("can't read the TIME_WAIT sockets of the server's namespace: %v", err)
		} else {
			t.Logf("NOT CHECKED: can't read the TIME_WAIT sockets of the server's namespace (%v): the bind results are the only proof", err)
		}
		return 0, false
	}
	return n, true
}
