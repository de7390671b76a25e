//go:build linux

package hostexec

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve starts a Server for program on a socket in a new directory and
// returns the socket's path; it stops with the test.
func serve(t *testing.T, program string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hostexec") //nolint:usetesting // a Unix socket's path must stay under 108 bytes; t.TempDir's holds the test's name
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	path := filepath.Join(dir, "exec.sock")
	ln, err := Listen(path)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Server{Program: program}).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	return path
}

func TestRun(t *testing.T) {
	t.Parallel()
	socket := serve(t, "/bin/sh")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel) // after the parallel subtests

	tests := []struct {
		name       string
		req        Request
		exit       int
		stdout     string
		stderr     string
		killed     bool
		atLeast    time.Duration
		lessThan   time.Duration
		wantErrMsg string
	}{
		{name: "both streams and the exit code",
			req:  Request{Args: []string{"-c", "echo out; echo err >&2; exit 3"}},
			exit: 3, stdout: "out\n", stderr: "err\n", lessThan: 5 * time.Second},
		{name: "timed from fork to exit",
			req:     Request{Args: []string{"-c", "sleep 0.3"}},
			atLeast: 300 * time.Millisecond, lessThan: 5 * time.Second},
		{name: "killed at its timeout",
			req:  Request{Args: []string{"-c", "sleep 30"}, Timeout: 200 * time.Millisecond},
			exit: -1, killed: true, atLeast: 200 * time.Millisecond, lessThan: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Run(ctx, socket, tt.req)
			require.NoError(t, err)
			assert.Equal(t, tt.exit, res.Exit, "%+v", res)
			assert.Equal(t, tt.stdout, res.Stdout, "%+v", res)
			assert.Equal(t, tt.stderr, res.Stderr, "%+v", res)
			assert.Equal(t, tt.killed, res.Killed, "%+v", res)
			assert.GreaterOrEqual(t, res.Took, tt.atLeast, "%+v", res)
			assert.Less(t, res.Took, tt.lessThan, "%+v", res)
			assert.WithinDuration(t, time.Now(), res.Ended, 10*time.Second)
		})
	}
}

func TestRunNoProgram(t *testing.T) {
	t.Parallel()
	socket := serve(t, "/nonexistent/program")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Run(ctx, socket, Request{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "running /nonexistent/program: ")
}

func TestRunBadRequest(t *testing.T) {
	t.Parallel()
	socket := serve(t, "/bin/sh")
	conn, err := net.Dial("unix", socket)
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	_, err = conn.Write([]byte("not json\n"))
	require.NoError(t, err)
	buf := make([]byte, 512)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	n, _ := conn.Read(buf)
	assert.Contains(t, string(buf[:n]), `"error":"reading the request: invalid character`)
}

func TestRunNobodyListens(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), "/nonexistent/exec.sock", Request{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reaching the host: ")
}
