package server

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/procfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRestartOnTheSamePort is the restart table of docs/matrices.md on loopback: a
// server that greeted a client closed first, so its port holds a
// TIME_WAIT socket, and only SO_REUSEADDR on both the old and the new
// socket lets a new server bind.
func TestRestartOnTheSamePort(t *testing.T) {
	const on, off = true, false
	rows := []struct {
		name       string
		old, new   bool // -reuseaddr of the old and the new server
		served     bool
		keepOld    bool
		wantStarts bool
	}{
		{"on then on", on, on, true, false, true},
		{"off then off", off, off, true, false, false},
		{"off then on", off, on, true, false, false},
		{"on then off", on, off, true, false, false},
		{"off then off, nobody served", off, off, false, false, true},
		{"old still running, new on", on, on, true, true, false},
	}
	requireTimeWaitRoom(t)
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			port := smiletest.FreePort(t)
			listen := fmt.Sprintf("127.0.0.1:%d", port)
			old := startServer(t, "-resolve=false", fmt.Sprintf("-reuseaddr=%v", row.old), "-listen", listen)
			if row.served {
				got, err := smiletest.Peer{}.Greet(listen)
				require.NoError(t, err)
				require.Equal(t, defaultGreeting, got)
				require.True(t, old.out.WaitFor(t, "Connection received", 5e9))
			}
			if !row.keepOld {
				require.Equal(t, 0, old.stop())
				if row.served {
					assert.True(t, procfs.TimeWait(port) > 0, "the server closed first, so its side of the connection is in TIME_WAIT")
				}
			}
			next := tryServer(t, "-resolve=false", fmt.Sprintf("-reuseaddr=%v", row.new), "-listen", listen)
			if row.wantStarts {
				require.False(t, next.stopped, "new server exited %d: %s", next.code, next.err)
				got, err := smiletest.Peer{}.Greet(listen)
				assert.NoError(t, err)
				assert.Equal(t, defaultGreeting, got)
				assert.Equal(t, 0, next.stop())
				return
			}
			require.True(t, next.stopped, "new server must not start")
			assert.Equal(t, 1, next.code)
			assert.Equal(t, fmt.Sprintf("smile-server: can't bind to %s: address already in use\n", listen), next.err.String())
			if row.keepOld {
				got, err := smiletest.Peer{}.Greet(listen)
				assert.NoError(t, err, "the old server keeps serving")
				assert.Equal(t, defaultGreeting, got)
			}
		})
	}
}

// TestBindErrorNamesTheSocket: a wildcard listener's error names the
// socket as bound, as the contract's example shows.
func TestBindErrorNamesTheSocket(t *testing.T) {
	smiletest.RequireIPv6(t)
	port := smiletest.FreePort(t)
	startServer(t, "-resolve=false", fmt.Sprint(port))
	next := tryServer(t, "-resolve=false", "-listen", fmt.Sprintf(":%d", port))
	require.True(t, next.stopped)
	assert.Equal(t, 1, next.code)
	assert.Equal(t, fmt.Sprintf("smile-server: can't bind to [::]:%d: address already in use\n", port), next.err.String())
}

// requireTimeWaitRoom fails early when this namespace's TIME_WAIT table is
// (nearly) full: past net.ipv4.tcp_max_tw_buckets the kernel destroys
// closing sockets at once instead of keeping them in TIME_WAIT, and the
// restart table cannot be shown. A load test in the last minute does that.
func requireTimeWaitRoom(t *testing.T) {
	t.Helper()
	maxB, err := os.ReadFile("/proc/sys/net/ipv4/tcp_max_tw_buckets")
	require.NoError(t, err)
	maxTW, err := strconv.Atoi(strings.TrimSpace(string(maxB)))
	require.NoError(t, err)
	stat, err := os.ReadFile("/proc/net/sockstat")
	require.NoError(t, err)
	tw := 0
	for _, line := range strings.Split(string(stat), "\n") {
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[0] == "TCP:" && f[i] == "tw" {
				tw, _ = strconv.Atoi(f[i+1])
			}
		}
	}
	require.Less(t, tw, maxTW-1000, "TIME_WAIT table nearly full (%d of net.ipv4.tcp_max_tw_buckets=%d): new TIME_WAIT sockets would be dropped; wait a minute after load tests", tw, maxTW)
}
