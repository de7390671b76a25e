package server

// The harness of TestFaults: the real smile-server process, well-behaved
// clients that count their greetings, fault loops, and the bounds every
// scenario shares. Every peer is on loopback; reverse lookups go to
// /etc/hosts or to a dnstest server, never to the machine's resolver.

import (
	"fmt"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/procfs"
)

// Bounds with wide margins: a healthy server uses a few MiB and well under
// a millisecond of CPU per connection on loopback.
const (
	maxRSS         = 96 << 10 // KiB, peak resident memory (VmHWM)
	maxCPUPerConn  = 3 * time.Millisecond
	minCPUAllowed  = 500 * time.Millisecond // floor for scenarios with few connections
	bigGreetingLen = 120000                 // under the 128 KiB limit of one exec argument
	fdLimit        = 32                     // RLIMIT_NOFILE where the server runs out of descriptors
)

// proc is the real smile-server listening on 127.0.0.1:port.
type proc struct {
	*smiletest.Proc
	addr string
}

// startProc runs the real binary, optionally behind a wrapper command
// (prlimit), listening on 127.0.0.1:port, and waits for its start line.
func startProc(t *testing.T, wrapper []string, port int, args ...string) *proc {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := smiletest.Start(t, serverBinary(t), smiletest.Options{Wrapper: wrapper, Ready: "SERVER started"}, append(args, "-listen", addr)...)
	return &proc{Proc: p, addr: addr}
}

// count waits until the log holds at least n lines containing substr (it
// is flushed every 100 ms) and returns how many it holds.
func (p *proc) count(substr string, n int) int { return p.Out.WaitCount(substr, n, 3*time.Second) }

// greetWant is a well-behaved client that must read exactly want.
func greetWant(peer smiletest.Peer, addr, want string) error {
	got, err := peer.Greet(addr)
	if err != nil {
		return fmt.Errorf("after %d bytes: %w", len(got), err)
	}
	if got != want {
		return fmt.Errorf("got %d bytes %.40q, want %d bytes", len(got), got, len(want))
	}
	return nil
}

// tally counts well-behaved greetings.
type tally struct {
	mu     sync.Mutex
	ok     int
	failed []string
	slow   time.Duration // the longest greeting
}

func (ta *tally) add(err error, took time.Duration) {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	ta.slow = max(ta.slow, took)
	if err != nil {
		ta.failed = append(ta.failed, err.Error())
		return
	}
	ta.ok++
}

// probe runs n greetings on workers goroutines; src picks each one's
// source address (nil: the kernel's choice, 127.0.0.1).
func probe(addr, want string, n, workers int, src func(i int) string) *tally {
	var ta tally
	var next atomic.Int64
	repeat(workers, n, nil, func() bool {
		peer := smiletest.Peer{}
		if src != nil {
			peer.Src = src(int(next.Add(1)) - 1)
		}
		start := time.Now()
		ta.add(greetWant(peer, addr, want), time.Since(start))
		return true
	})()
	return &ta
}

// repeat runs one on workers goroutines until stop is closed or it ran
// limit times in all, and returns a wait for the number of runs that
// reported a connection made. A nil stop never closes.
func repeat(workers, limit int, stop <-chan struct{}, one func() bool) (wait func() int) {
	var tries, made atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tries.Add(1) <= int64(limit) {
				select {
				case <-stop:
					return
				default:
				}
				if one() {
					made.Add(1)
				}
			}
		}()
	}
	return func() int { wg.Wait(); return int(made.Load()) }
}

// figures are what a scenario reports, for the table of docs/reliability.md.
type figures struct {
	greeted, faults, lost int
	wall, cpu             time.Duration
	rssKB, hwmKB          int
}

// figuresSince fills the resource figures from two readings of the
// process's use.
func figuresSince(before, after procfs.Usage, start time.Time, faults int) figures {
	return figures{faults: faults, wall: time.Since(start), cpu: after.CPU - before.CPU, rssKB: after.RSSKB, hwmKB: after.HWMKB}
}

// check asserts the bounds every scenario shares and logs the figures.
func (f figures) check(t *testing.T, name string, ta *tally) {
	t.Helper()
	f.greeted, f.lost = ta.ok, len(ta.failed)
	assert.Zero(t, f.lost, "well-behaved clients lost their greeting: %.5q", ta.failed)
	assert.Less(t, f.hwmKB, maxRSS, "peak RSS")
	cpuBound := max(minCPUAllowed, time.Duration(f.greeted+f.faults)*maxCPUPerConn)
	assert.Less(t, f.cpu, cpuBound, "server CPU time over the scenario")
	t.Logf("FIGURES %s: greeted=%d faults=%d lost=%d wall=%v cpu=%v rss=%dKiB peak=%dKiB slowest=%v",
		name, f.greeted, f.faults, f.lost, f.wall.Round(time.Millisecond), f.cpu, f.rssKB, f.hwmKB, ta.slow.Round(time.Millisecond))
}

// underFault runs probes well-behaved greetings while the fault runs,
// then checks the server still serves, and returns the scenario's figures.
func underFault(t *testing.T, p *proc, want string, probes int, startFault func(stop <-chan struct{}) (wait func() int)) (figures, *tally) {
	t.Helper()
	before := p.Usage(t)
	start := time.Now()
	stop := make(chan struct{})
	wait := startFault(stop)
	time.Sleep(20 * time.Millisecond) // the fault is under way first
	ta := probe(p.addr, want, probes, 4, nil)
	close(stop)
	faults := wait()
	require.NoError(t, greetWant(smiletest.Peer{}, p.addr, want), "the server still serves after the fault")
	ta.ok++
	return figuresSince(before, p.Usage(t), start, faults), ta
}

// noControlBytes fails on any raw control byte (other than the newline
// ending each line) in a log.
func noControlBytes(t *testing.T, log string) {
	t.Helper()
	for i, b := range []byte(log) {
		if (b < 0x20 && b != '\n') || b == 0x7f {
			t.Fatalf("raw control byte %#x at %d in the log: %q", b, i, log[max(0, i-60):min(len(log), i+60)])
		}
	}
}

// outOfDescriptors runs the real server with fdLimit descriptors and
// connects 40 peers that never read a large greeting (-write-timeout 1s),
// so that accept(2) fails with EMFILE; the peers close when the test ends.
func outOfDescriptors(t *testing.T, greeting string) (p *proc, hogs int) {
	t.Helper()
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) not installed")
	}
	hogs = 40
	p = startProc(t, []string{prlimit, fmt.Sprintf("--nofile=%d:%d", fdLimit, fdLimit), "--"}, smiletest.FreePort(t),
		"-resolve=false", "-write-timeout", "1s", "-greeting", greeting)
	for range hogs { // more peers that never read than descriptors
		c, err := smiletest.Peer{Stingy: true}.Dial(p.addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
	}
	require.True(t, p.Out.WaitFor(t, "accept failed, retrying", 5*time.Second), "the server ran out of descriptors: %s", p.Out)
	return p, hogs
}
