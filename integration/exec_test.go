package integration

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"
)

// clientUser is the user the client image runs as (its Dockerfile's USER):
// a client run in a host's namespace runs as it too, with no capability.
const clientUser = "65532:65532"

// execClient runs the client image's /smile-client with args in the running
// host container id (a holder of the fault helper's image, which is the
// client image with the helper added: requireNetfault), as the client
// image's user, and returns how it ended. A process in a running container
// costs the daemon a seventh of the CPU of a container of its own on a
// network (measured: 0.18 against 1.26 CPU-seconds), and the matrices run
// a client per cell.
//
// took runs from the exec's start to the end of its output: it includes
// starting the process in the container, tens of milliseconds, more on a
// loaded machine, never less than the process ran.
func execClient(t *testing.T, id string, args ...string) result {
	t.Helper()
	r, err := execIn(id, clientUser, append([]string{"/smile-client"}, args...)...)
	require.NoError(t, err, "smile-client %v in container %s", args, id)
	return r
}

// execIn runs cmd in the running container id as user and returns how it
// ended.
func execIn(id, user string, cmd ...string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	created, err := suite.docker.ExecCreate(ctx, id, client.ExecCreateOptions{
		User: user, Cmd: cmd, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return result{}, fmt.Errorf("exec create: %w", err)
	}
	start := time.Now()
	att, err := suite.docker.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return result{}, fmt.Errorf("exec attach: %w", err)
	}
	defer att.Close()
	var stdout, stderr bytes.Buffer
	// The daemon ends the stream when the process has exited.
	if _, err := stdcopyLogs(&stdout, &stderr, att.Reader); err != nil {
		return result{}, fmt.Errorf("exec output: %w", err)
	}
	ended := time.Now()
	// It marks the exec stopped just after: ask until it says so.
	for {
		in, err := suite.docker.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		if err != nil {
			return result{}, fmt.Errorf("exec inspect: %w", err)
		}
		if !in.Running {
			return result{exit: in.ExitCode, stdout: stdout.String(), stderr: stderr.String(), took: ended.Sub(start), ended: ended}, nil
		}
		select {
		case <-ctx.Done():
			return result{}, fmt.Errorf("exec inspect: still running after its output ended: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// execAtMost runs smile-client in container ids[i] with args[i], n at a
// time, and returns how each ended, in order.
func execAtMost(t *testing.T, n int, ids []string, args [][]string) []result {
	t.Helper()
	res := make([]result, len(args))
	errs := make([]error, len(args))
	slots := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	for i := range args {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			res[i], errs[i] = execIn(ids[i], clientUser, append([]string{"/smile-client"}, args[i]...)...)
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "smile-client %v in container %s", args[i], ids[i])
	}
	return res
}
