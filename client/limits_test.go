package client

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/nettest"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
)

// clientBinary builds smile-client once, for tests that measure the
// process itself.
func clientBinary(t *testing.T) string { return smiletest.Build(t, "../cmd/smile-client") }

// flood is a hostile server that streams without end.
func flood(c net.Conn) {
	chunk := bytes.Repeat([]byte("A"), 64<<10)
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

// TestMemoryIsBoundedByMaxBytes runs the real client against a server that
// never stops sending and reads its peak RSS from the kernel (getrusage of
// the child): it follows -max-bytes, not the length of the stream.
func TestMemoryIsBoundedByMaxBytes(t *testing.T) {
	bin := clientBinary(t)
	_, port := peer(t, "tcp4", "127.0.0.1:0", flood)
	peakRSS := func(args ...string) (kib int64, code int, stderr string) {
		t.Helper()
		var errb bytes.Buffer
		cmd := exec.Command(bin, append(args, "127.0.0.1", port)...)
		cmd.Env = []string{}
		cmd.Stderr = &errb
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil {
			require.ErrorAs(t, err, &exit)
		}
		return maxRSSKiB(t, cmd.ProcessState), cmd.ProcessState.ExitCode(), errb.String()
	}
	// ru_maxrss of a child can carry the parent's resident size from
	// before exec (Go forks with CLONE_VM), which is large under -race:
	// measure that floor with a run that reads nothing, and compare above it.
	var floorErr bytes.Buffer
	floorCmd := exec.Command(bin, "-version")
	floorCmd.Env, floorCmd.Stderr = []string{}, &floorErr
	require.NoError(t, floorCmd.Run(), floorErr.String())
	floor := maxRSSKiB(t, floorCmd.ProcessState)
	small, code, errOut := peakRSS("-max-bytes", "1000000")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "too-large: more than 1000000 bytes (-max-bytes)")
	probes, code, errOut := peakRSS("-max-bytes", "1000000", "-count", "40", "-concurrency", "8")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "too-large")
	large, code, _ := peakRSS("-max-bytes", fmt.Sprint(64<<20))
	assert.Equal(t, 1, code)
	t.Logf("FIGURES client peak RSS against an endless stream: -version floor %d KiB; -max-bytes 1000000: %d KiB; 40 probes x8: %d KiB; -max-bytes 64MiB: %d KiB", floor, small, probes, large)
	assert.Less(t, small-floor, int64(24<<10), "one probe with -max-bytes 1000000")
	assert.Less(t, probes-floor, int64(40<<10), "8 probes in flight, each within -max-bytes 1000000")
	assert.Greater(t, large, small+32<<10, "the bound is -max-bytes: 64 MiB of it really uses the memory")
}

// TestReadTimeoutFromTheEnvironment: a server that accepts and never
// writes is given up after SMILE_READ_TIMEOUT, not the 5 s default.
func TestReadTimeoutFromTheEnvironment(t *testing.T) {
	never := func(c net.Conn) {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = c.Read(make([]byte, 1))
	}
	_, port := peer(t, "tcp4", "127.0.0.1:0", never)
	code, out, errOut, elapsed := runClientEnv(t, map[string]string{"SMILE_READ_TIMEOUT": "300ms"}, "127.0.0.1", port)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, fmt.Sprintf("smile-client: connected to 127.0.0.1:%s, but no greeting: timeout\n", port), errOut)
	assert.GreaterOrEqual(t, elapsed, 250*time.Millisecond)
	assert.Less(t, elapsed, 2*time.Second)
}

// TestNameWhereNothingListens: every address of a name (A and AAAA, from
// the test's resolver) refuses; the client tries each and reports refused
// quickly, naming the name and every address with its class.
func TestNameWhereNothingListens(t *testing.T) {
	dns := dnstest.Start(t)
	addrs := []string{"127.0.0.1"}
	if nettest.SupportsIPv6() {
		addrs = append(addrs, "::1")
	}
	dns.AddHost("empty.smile.test", addrs...)
	port := closedPort(t)
	code, _, errOut, elapsed := runClient(t, "-v", "-resolver", dns.Addr, "-timeout", "2s", "empty.smile.test", port)
	assert.Equal(t, 1, code)
	if len(addrs) == 2 {
		assert.Regexp(t, fmt.Sprintf(`smile-client: can't connect to empty\.smile\.test:%[1]s: (127\.0\.0\.1:%[1]s refused, \[::1\]:%[1]s refused|\[::1\]:%[1]s refused, 127\.0\.0\.1:%[1]s refused)\n$`, port), errOut)
	} else {
		assert.Regexp(t, fmt.Sprintf(`smile-client: can't connect to empty\.smile\.test:%[1]s \(127\.0\.0\.1:%[1]s\): refused\n$`, port), errOut)
	}
	for _, a := range addrs {
		assert.Contains(t, errOut, "dialling "+net.JoinHostPort(a, port), "every address is tried")
	}
	assert.Less(t, elapsed, time.Second)
	assert.Positive(t, dns.Queries())
}

// TestStatsStayFlat adds a million successful probes to one target's
// stats, as -count 1000000 does, and measures the heap they hold: the
// latencies go into fixed-size histograms, so the stats of a million
// probes are as large as those of one. (A real-binary run of that many
// probes takes a minute on loopback, where the connections' own garbage
// drowns the difference; the stats are where the memory was kept.)
func TestStatsStayFlat(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	st := &stats{}
	r := result{target: "127.0.0.1:7890", addr: "127.0.0.1:7890", family: "IPv4"}
	for i := range 1_000_000 {
		r.connect, r.total = time.Duration(i%5000)*time.Microsecond, time.Duration(i%7000)*time.Microsecond
		st.add(&r)
	}
	held := int64(heap()) - int64(before)
	runtime.KeepAlive(st)
	t.Logf("FIGURES stats of 1 000 000 probes hold %d KiB of heap", held>>10)
	assert.Equal(t, 1_000_000, st.okCount())
	// Two slices of durations held 16 MB for a million probes.
	assert.Less(t, held, int64(256<<10))
}
