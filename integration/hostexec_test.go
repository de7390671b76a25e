package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/smile-sockets/smile/internal/smiletest/hostexec"
)

// execDir is where a host's exec socket is, inside the host.
const execDir = "/run/smile-exec"

// hostSockets maps a host's container ID to its exec socket on this
// machine, for hostClient.
var hostSockets sync.Map

// execHost makes a host take run requests (netfault hold -exec): it
// returns the hold arguments and the container's options, which
// bind-mount a new directory of this machine into it for the socket and
// record the socket for hostClient once the container has started.
func execHost(t *testing.T) (hold []string, opts []testcontainers.ContainerCustomizer) {
	t.Helper()
	dir, err := os.MkdirTemp("", "smile-exec") //nolint:usetesting // a Unix socket's path must stay under 108 bytes; t.TempDir's holds the test's name
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// The host's root writes here; a test that runs as another user must
	// let it.
	require.NoError(t, os.Chmod(dir, 0o777))
	hold = []string{"hold", "-exec", execDir + "/exec.sock"}
	return hold, []testcontainers.ContainerCustomizer{
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: dir, Target: execDir})
		}),
		testcontainers.WithAdditionalLifecycleHooks(testcontainers.ContainerLifecycleHooks{
			PostStarts: []testcontainers.ContainerHook{func(_ context.Context, c testcontainers.Container) error {
				id := c.GetContainerID()
				hostSockets.Store(id, filepath.Join(dir, "exec.sock"))
				t.Cleanup(func() { hostSockets.Delete(id) })
				return nil
			}},
		}),
	}
}

// hostClient runs the client image's binary with args in host id, as the
// image's user, and returns how it ended, timed by the host from fork to
// exit. The host must have been started with execHost's options.
func hostClient(t *testing.T, id string, args ...string) result {
	t.Helper()
	res, err := runInHost(id, args...)
	require.NoError(t, err)
	return res
}

// runInHost is hostClient for a goroutine other than the test's, which
// must not call FailNow: the error says what went wrong.
func runInHost(id string, args ...string) (result, error) {
	socket, ok := hostSockets.Load(id)
	if !ok {
		return result{}, fmt.Errorf("container %s takes no run requests", id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute+10*time.Second)
	defer cancel()
	res, err := hostexec.Run(ctx, socket.(string), hostexec.Request{Args: args, Timeout: time.Minute})
	if err != nil {
		return result{}, fmt.Errorf("smile-client %v in host %s: %w", args, id, err)
	}
	if res.Killed {
		return result{}, fmt.Errorf("smile-client %v in host %s ran for more than a minute: %+v", args, id, res)
	}
	return result{exit: res.Exit, stdout: res.Stdout, stderr: res.Stderr, took: res.Took, ended: res.Ended}, nil
}

// clientHost starts a host on nw at the network's next client address for
// clients to run in (hostClient): a container that holds a network
// namespace of its own, which a test can give a fault, with extraHosts
// ("name:address") in its /etc/hosts. It returns the container's ID and
// who its clients are to a server.
func clientHost(t *testing.T, nw *testNet, extraHosts ...string) (string, peer) {
	t.Helper()
	image := requireNetfault(t)
	i := nw.nextClient(t)
	p := peer{name: containerName(t, "host")}
	p.v4, p.v6 = nw.host(i)
	hold, execOpts := execHost(t)
	ctr := run(t, image, append(append(common(t, p.name), execOpts...),
		testcontainers.WithCmd(hold...),
		network.WithNetwork(nil, nw.DockerNetwork),
		fixedAddrs(nw, i),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) { hc.ExtraHosts = extraHosts }),
		testcontainers.WithWaitStrategy(wait.ForLog("holding the network namespace").WithStartupTimeout(30*time.Second)),
	)...)
	return ctr.GetContainerID(), p
}
