package server

// Fault injection against the real smile-server process: each scenario
// mixes well-behaved clients with one kind of hostile or broken peer (or a
// hostile environment: no descriptors, a dead or lying DNS server, a
// signal, a kill) and proves that no well-behaved client lost its
// greeting, that the server still serves afterwards, and that its CPU time
// and memory stayed bounded. Every peer is on loopback; reverse lookups go
// to /etc/hosts or to a dnstest server, never to the machine's resolver.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/smile-sockets/smile/internal/dnstest"
)

// Bounds with wide margins: a healthy server uses a few MiB and well under
// a millisecond of CPU per connection on loopback.
const (
	maxRSS         = 96 << 10 // KiB, peak resident memory (VmHWM)
	maxCPUPerConn  = 3 * time.Millisecond
	minCPUAllowed  = 500 * time.Millisecond // floor for scenarios with few connections
	bigGreetingLen = 120000                 // under the 128 KiB limit of one exec argument
)

// proc is a smile-server process whose resource use is read from /proc.
type proc struct {
	cmd      *exec.Cmd
	out, err *syncBuffer
	addr     string
	done     chan struct{}
	waitErr  error
}

// startProc runs the real binary, optionally behind a wrapper command
// (prlimit), listening on 127.0.0.1:port, and waits for its start line.
// It is killed at the end of the test if it still runs.
func startProc(t *testing.T, wrapper []string, port int, args ...string) *proc {
	t.Helper()
	bin := serverBinary(t)
	p := &proc{out: &syncBuffer{}, err: &syncBuffer{}, addr: fmt.Sprintf("127.0.0.1:%d", port), done: make(chan struct{})}
	argv := append(append(append([]string{}, wrapper...), bin), append(args, "-listen", p.addr)...)
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.err
	p.cmd.Env = []string{} // no SMILE_* from the test's environment
	require.NoError(t, p.cmd.Start())
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	if !p.out.waitFor(t, "SERVER started", 10*time.Second) {
		t.Fatalf("server %v did not start: %s %s", args, p.out, p.err)
	}
	return p
}

// stop sends SIGTERM and returns the exit code and how long the exit took.
func (p *proc) stop(t *testing.T) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not exit within 20s of SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode(), time.Since(start)
}

// count waits until the log holds at least n lines containing substr (it
// is flushed every 100 ms) and returns how many it holds.
func (p *proc) count(substr string, n int) int {
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := strings.Count(p.out.String(), substr)
		if got >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// resUse is a process's CPU time so far and its current and peak RSS.
type resUse struct {
	cpu        time.Duration
	rss, hwmKB int
}

func (p *proc) usage(t *testing.T) resUse {
	t.Helper()
	return procUsage(t, p.cmd.Process.Pid)
}

func procUsage(t *testing.T, pid int) resUse {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	// After "pid (comm) ", utime and stime are the 12th and 13th fields.
	rest := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	utime, _ := strconv.Atoi(rest[11])
	stime, _ := strconv.Atoi(rest[12])
	var u resUse
	u.cpu = time.Duration(utime+stime) * time.Second / 100 // USER_HZ
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			u.rss, _ = strconv.Atoi(f[1])
		}
		if len(f) >= 2 && f[0] == "VmHWM:" {
			u.hwmKB, _ = strconv.Atoi(f[1])
		}
	}
	return u
}

// client is a peer's behaviour, for well-behaved and hostile peers alike.
type client struct {
	src      string // source address, "" for the kernel's choice
	stingy   bool   // a tiny receive window and segment size, so that the server's writes stall
	deadline time.Duration
}

func (c client) dial(addr string) (*net.TCPConn, error) {
	d := net.Dialer{Timeout: 3 * time.Second}
	if c.src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(c.src)}
	}
	if c.stingy {
		// Loopback's 64 KiB segments let the server's send buffer grow to
		// megabytes; small segments and window keep it near 16 KiB, so a
		// large greeting to a peer that never reads really blocks.
		d.Control = func(_, _ string, raw syscall.RawConn) error {
			var e1, e2 error
			err := raw.Control(func(fd uintptr) {
				e1 = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
				e2 = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_MAXSEG, 536)
			})
			return errors.Join(err, e1, e2)
		}
	}
	conn, err := d.Dial("tcp4", addr)
	if err != nil {
		return nil, err
	}
	return conn.(*net.TCPConn), nil
}

var errConnect = errors.New("connect")

// greet is a well-behaved client: connect, read to EOF, compare.
func (c client) greet(addr, want string) error {
	conn, err := c.dial(addr)
	if err != nil {
		return fmt.Errorf("%w: %w", errConnect, err)
	}
	defer conn.Close()
	d := c.deadline
	if d == 0 {
		d = 10 * time.Second
	}
	_ = conn.SetDeadline(time.Now().Add(d))
	got, err := io.ReadAll(conn)
	if err != nil {
		return fmt.Errorf("after %d bytes: %w", len(got), err)
	}
	if string(got) != want {
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
// source address (nil: 127.0.0.1).
func probe(addr, want string, n, workers int, src func(i int) string) *tally {
	var ta tally
	var next atomic.Int64
	repeat(workers, n, nil, func() bool {
		c := client{}
		if src != nil {
			c.src = src(int(next.Add(1)) - 1)
		}
		start := time.Now()
		ta.add(c.greet(addr, want), time.Since(start))
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

// figures are what a scenario reports, for the README's reliability table.
type figures struct {
	greeted, faults, lost int
	wall, cpu             time.Duration
	rssKB, hwmKB          int
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
	before := p.usage(t)
	start := time.Now()
	stop := make(chan struct{})
	wait := startFault(stop)
	time.Sleep(20 * time.Millisecond) // the fault is under way first
	ta := probe(p.addr, want, probes, 4, nil)
	close(stop)
	faults := wait()
	require.NoError(t, client{}.greet(p.addr, want), "the server still serves after the fault")
	ta.ok++
	after := p.usage(t)
	return figures{faults: faults, wall: time.Since(start), cpu: after.cpu - before.cpu, rssKB: after.rss, hwmKB: after.hwmKB}, ta
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

// fdLimit is RLIMIT_NOFILE for the scenarios that run out of descriptors.
const fdLimit = 32

// outOfDescriptors runs the real server with 32 descriptors and connects
// 40 peers that never read a large greeting (-write-timeout 1s), so that
// accept(2) fails with EMFILE; the peers close when the test ends.
func outOfDescriptors(t *testing.T, greeting string) (p *proc, hogs int) {
	t.Helper()
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) not installed")
	}
	hogs = 40
	p = startProc(t, []string{prlimit, fmt.Sprintf("--nofile=%d:%d", fdLimit, fdLimit), "--"}, freePort(t),
		"-resolve=false", "-write-timeout", "1s", "-greeting", greeting)
	for range hogs { // more peers that never read than descriptors
		c, err := client{stingy: true}.dial(p.addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
	}
	require.True(t, p.out.waitFor(t, "accept failed, retrying", 5*time.Second), "the server ran out of descriptors: %s", p.out)
	return p, hogs
}

func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection runs the real server: skipped in -short mode")
	}
	big := strings.Repeat("G", bigGreetingLen)

	t.Run("peers reset at once", func(t *testing.T) {
		dns := stubDNS(t)
		p := startProc(t, nil, freePort(t), "-resolver", dns.Addr)
		f, ta := underFault(t, p, defaultGreeting, 300, func(stop <-chan struct{}) func() int {
			return repeat(2, 3000, stop, func() bool {
				conn, err := client{}.dial(p.addr)
				if err != nil {
					return false
				}
				_ = conn.SetLinger(0)
				_ = conn.Close() // RST, before or while the server writes
				return true
			})
		})
		f.check(t, "reset", ta)
		assert.Zero(t, dns.Queries(), "127.0.0.1 is named from /etc/hosts, not by DNS")
	})

	t.Run("peers send megabytes", func(t *testing.T) {
		p := startProc(t, nil, freePort(t), "-resolve=false")
		junk := bytes.Repeat([]byte("J"), 4<<20)
		var sent atomic.Int64
		f, ta := underFault(t, p, defaultGreeting, 200, func(stop <-chan struct{}) func() int {
			return repeat(4, 200, stop, func() bool {
				conn, err := client{}.dial(p.addr)
				if err != nil {
					return false
				}
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				n, _ := conn.Write(junk) // ends in a reset once the server closes
				sent.Add(int64(n))
				return true
			})
		})
		f.check(t, "megabytes", ta)
		t.Logf("FIGURES megabytes: %d MiB written by %d peers sending 4 MiB each", sent.Load()>>20, f.faults)
	})

	t.Run("peers never read a large greeting", func(t *testing.T) {
		const hogs = 3
		p := startProc(t, nil, freePort(t), "-resolve=false", "-max-conns", "2", "-write-timeout", "300ms", "-greeting", big)
		f, ta := underFault(t, p, big, 30, func(stop <-chan struct{}) func() int {
			return repeat(hogs, 1000, stop, func() bool {
				conn, err := client{stingy: true}.dial(p.addr)
				if err != nil {
					return false
				}
				defer conn.Close()
				select { // never read: only the write timeout frees the slot
				case <-stop:
				case <-time.After(800 * time.Millisecond):
				}
				return true
			})
		})
		f.check(t, "never-read", ta)
		timedOut := p.count("greeting failed", 1)
		assert.Positive(t, timedOut, "the write timeout ended greetings to peers that never read: %s", p.out)
		assert.Contains(t, p.out.String(), "i/o timeout")
		t.Logf("FIGURES never-read: greetings ended by -write-timeout=%d", timedOut)
	})

	t.Run("peers half-close", func(t *testing.T) {
		p := startProc(t, nil, freePort(t), "-resolve=false")
		var halfGreeted atomic.Int64
		f, ta := underFault(t, p, defaultGreeting, 200, func(stop <-chan struct{}) func() int {
			return repeat(2, 2000, stop, func() bool {
				conn, err := client{}.dial(p.addr)
				if err != nil {
					return false
				}
				defer conn.Close()
				_ = conn.CloseWrite() // FIN before the greeting
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				if got, err := io.ReadAll(conn); err == nil && string(got) == defaultGreeting {
					halfGreeted.Add(1)
				}
				return true
			})
		})
		f.check(t, "half-close", ta)
		assert.Equal(t, int64(f.faults), halfGreeted.Load(), "a half-closed peer still reads its whole greeting")
	})

	t.Run("peers connect and vanish", func(t *testing.T) {
		p := startProc(t, nil, freePort(t), "-resolve=false")
		f, ta := underFault(t, p, defaultGreeting, 200, func(stop <-chan struct{}) func() int {
			return repeat(2, 3000, stop, func() bool {
				conn, err := client{}.dial(p.addr)
				if err != nil {
					return false
				}
				_ = conn.Close() // gone before the server accepts or writes
				return true
			})
		})
		f.check(t, "vanish", ta)
	})

	t.Run("more peers than -max-conns wait in the queue", func(t *testing.T) {
		const queued = 100
		const writeTimeout = 700 * time.Millisecond
		p := startProc(t, nil, freePort(t), "-resolve=false", "-max-conns", "2", "-write-timeout", writeTimeout.String(), "-greeting", big)
		before := p.usage(t)
		start := time.Now()
		// Two peers that never read hold both slots for the write timeout.
		for range 2 {
			hog, err := client{stingy: true}.dial(p.addr)
			require.NoError(t, err)
			defer hog.Close()
		}
		ta := probe(p.addr, big, queued, queued, nil)
		after := p.usage(t)
		f := figures{faults: 2, wall: time.Since(start), cpu: after.cpu - before.cpu, rssKB: after.rss, hwmKB: after.hwmKB}
		f.check(t, "queue", ta)
		assert.GreaterOrEqual(t, ta.slow, writeTimeout*8/10, "the queued peers waited for a slot")
		assert.Equal(t, queued, p.count("Connection received from 127.0.0.1", queued), "every queued peer was served")
		assert.Equal(t, 2, p.count("greeting failed", 2), "only the two hogs failed: %s", p.out)
	})

	t.Run("file descriptors run out", func(t *testing.T) {
		const probes = 10
		before, start := resUse{}, time.Now()
		p, hogs := outOfDescriptors(t, big)
		exhausted := p.usage(t)
		ta := probe(p.addr, big, probes, probes, nil)
		after := p.usage(t)
		f := figures{faults: hogs, wall: time.Since(start), cpu: after.cpu - before.cpu, rssKB: after.rss, hwmKB: after.hwmKB}
		f.check(t, "fd-exhaustion", ta)
		retries := strings.Count(p.out.String(), "accept failed, retrying")
		assert.Contains(t, p.out.String(), "too many open files")
		assert.Less(t, retries, 40, "the accept loop backs off (5ms doubling to 1s), it does not spin")
		assert.Less(t, after.cpu-exhausted.cpu, 300*time.Millisecond, "CPU while out of descriptors")
		t.Logf("FIGURES fd-exhaustion: RLIMIT_NOFILE=%d, accept retries logged=%d, CPU while exhausted=%v", fdLimit, retries, after.cpu-exhausted.cpu)
	})

	t.Run("file descriptors run out during the drain", func(t *testing.T) {
		p, hogs := outOfDescriptors(t, big)
		before := p.usage(t)
		retriesBefore := strings.Count(p.out.String(), "accept failed, retrying")
		code, took := p.stop(t)
		retries := strings.Count(p.out.String(), "accept failed, retrying") - retriesBefore
		cpu := p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime() - before.cpu
		assert.Equal(t, 0, code, "exit status after SIGTERM: %s", p.err)
		assert.Less(t, retries, 40, "the drain backs off (5ms doubling to 1s) like the accept loop, it does not spin")
		assert.Less(t, cpu, 300*time.Millisecond, "CPU during the drain")
		greeted := strings.Count(p.out.String(), "Connection received from") + strings.Count(p.out.String(), "greeting failed")
		assert.Equal(t, hogs, greeted, "every queued peer was accepted during the drain: %s", p.out)
		t.Logf("FIGURES fd-exhaustion drain: exit %d after %v, accept retries logged during the drain=%d, CPU=%v",
			code, took.Round(time.Millisecond), retries, cpu.Round(time.Millisecond))
	})

	t.Run("DNS server hangs", func(t *testing.T) {
		const peers = 100 // more than the lookups allowed in flight
		dns := stubDNS(t)
		dns.SetSilent(true)
		p := startProc(t, nil, freePort(t), "-resolver", dns.Addr, "-resolve-timeout", "1s")
		before := p.usage(t)
		start := time.Now()
		src := func(i int) string { return fmt.Sprintf("127.0.0.%d", 2+i) }
		ta := probe(p.addr, defaultGreeting, peers, 4, src)
		greetedIn := time.Since(start)
		for i := range peers {
			line := fmt.Sprintf("Connection received from %s (%s)\n", src(i), src(i))
			require.True(t, p.out.waitFor(t, line, 5*time.Second), "log line %q: %s", line, p.out)
		}
		after := p.usage(t)
		f := figures{faults: int(dns.Queries()), wall: time.Since(start), cpu: after.cpu - before.cpu, rssKB: after.rss, hwmKB: after.hwmKB}
		f.check(t, "dns-hang", ta)
		assert.Less(t, ta.slow, 500*time.Millisecond, "no greeting waits for the dead resolver")
		assert.Less(t, greetedIn, 3*time.Second)
		assert.Positive(t, dns.Queries(), "lookups went to the test's resolver")
		require.NoError(t, client{}.greet(p.addr, defaultGreeting), "the server still serves")
	})

	t.Run("DNS server answers hostile names", func(t *testing.T) {
		dns := stubDNS(t)
		long := strings.Repeat("x", 63)
		hostile := []struct {
			src   string
			rdata []byte
		}{
			{"127.0.0.2", dnstest.WireName("ok", "smile", "test")},
			{"127.0.0.3", dnstest.WireName("esc\x1b[2J\x1b]0;owned\x07", "smile", "test")},
			{"127.0.0.4", dnstest.WireName("line\nINFO fake", "smile", "test")},
			{"127.0.0.5", dnstest.WireName("nul\x00byte", "del\x7f", "test")},
			{"127.0.0.6", dnstest.WireName(strings.Repeat("y", 64), "smile", "test")},          // label prefix 0x40: reserved
			{"127.0.0.7", dnstest.WireName(long, long, long, long)},                            // 256 bytes on the wire
			{"127.0.0.8", dnstest.WireName("dot.inside", "smile", "test")},                     // a '.' inside one label
			{"127.0.0.9", []byte{0xc0, 0xff}},                                                  // pointer past the message
			{"127.0.0.10", []byte{0xc0, 0x0c}},                                                 // pointer to the question
			{"127.0.0.11", []byte{5, 'l', 'o', 'o', 'p', 's', 0xc0}},                           // truncated pointer
			{"127.0.0.12", dnstest.WireName("\xff\xfe\xe2\x80\xae", "smile", "test")},          // invalid UTF-8 and RLO
			{"127.0.0.13", dnstest.WireName(long, long, long, strings.Repeat("z", 61))},        // 253 characters, the longest
			{"127.0.0.14", dnstest.WireName("under_score", "-dash-", "smile", "test")},         // odd but harmless
			{"127.0.0.15", dnstest.WireName("a", "b", "c", "d", "e", "f", "g", "h", "i", "j")}, // many labels
		}
		for _, h := range hostile {
			dns.AddRawPTR(h.src, h.rdata)
		}
		dns.AddPTR("127.0.0.16", "evil\x1b[31m\r\n.smile.test")
		p := startProc(t, nil, freePort(t), "-resolver", dns.Addr, "-resolve-timeout", "1s")
		before := p.usage(t)
		start := time.Now()
		srcs := []string{"127.0.0.16"}
		for _, h := range hostile {
			srcs = append(srcs, h.src)
		}
		ta := probe(p.addr, defaultGreeting, 3*len(srcs), 4, func(i int) string { return srcs[i%len(srcs)] })
		for _, s := range srcs {
			require.True(t, p.out.waitFor(t, "("+s+")\n", 5*time.Second), "log line for %s: %s", s, p.out)
		}
		after := p.usage(t)
		f := figures{faults: int(dns.Queries()), wall: time.Since(start), cpu: after.cpu - before.cpu, rssKB: after.rss, hwmKB: after.hwmKB}
		f.check(t, "dns-hostile", ta)
		log := p.out.String()
		noControlBytes(t, log)
		if testing.Verbose() {
			for _, s := range srcs {
				i := strings.Index(log, "("+s+")\n")
				t.Logf("peer %s logged as: %s", s, log[strings.LastIndexByte(log[:i], '\n')+1:i+len(s)+2])
			}
		}
		assert.Contains(t, log, "Connection received from ok.smile.test (127.0.0.2)\n")
		assert.Contains(t, log, " "+strings.Repeat(long+".", 3)+strings.Repeat("z", 61)+" (127.0.0.13)\n", "the longest valid name is logged whole")
		for _, line := range strings.Split(log, "\n") {
			if _, msg, ok := strings.Cut(line, "Connection received from "); ok {
				name, _, _ := strings.Cut(msg, " (")
				assert.Regexp(t, `^[A-Za-z0-9._-]{1,253}$`, name, "a logged name is a clean DNS name")
			}
		}
		require.NoError(t, client{}.greet(p.addr, defaultGreeting), "the server still serves")
	})

	t.Run("SIGTERM while 8 workers probe among faults", func(t *testing.T) {
		p := startProc(t, nil, freePort(t), "-resolve=false")
		before := p.usage(t)
		start := time.Now()
		var ta tally
		var gone atomic.Int64
		stop := make(chan struct{})
		waitProbes := repeat(8, 1<<20, stop, func() bool {
			begin := time.Now()
			err := client{src: "127.0.0.1"}.greet(p.addr, defaultGreeting)
			if errors.Is(err, errConnect) {
				gone.Add(1) // the listener is gone: expected after SIGTERM
				return false
			}
			ta.add(err, time.Since(begin))
			return true
		})
		// Resetting peers from another source address, so that the log's
		// lines for 127.0.0.1 count exactly the well-behaved greetings.
		waitFaults := repeat(2, 100000, stop, func() bool {
			conn, err := client{src: "127.0.0.2"}.dial(p.addr)
			if err != nil {
				return false
			}
			_ = conn.SetLinger(0)
			_ = conn.Close()
			return true
		})
		time.Sleep(400 * time.Millisecond)
		last := p.usage(t)
		code, took := p.stop(t)
		close(stop)
		waitProbes()
		f := figures{faults: waitFaults(), wall: time.Since(start), cpu: last.cpu - before.cpu, rssKB: last.rss, hwmKB: last.hwmKB}
		f.check(t, "sigterm", &ta)
		assert.Equal(t, 0, code, "exit status after SIGTERM: %s", p.err)
		assert.Less(t, took, 5*time.Second)
		assert.Positive(t, ta.ok)
		assert.Contains(t, p.out.String(), "SERVER shutdown complete\n")
		assert.Equal(t, ta.ok, strings.Count(p.out.String(), "Connection received from 127.0.0.1 (127.0.0.1)"), "the log was flushed: one line per greeting")
		t.Logf("FIGURES sigterm: exit %d after %v, connects refused once the listener was gone=%d", code, took.Round(time.Millisecond), gone.Load())
	})

	t.Run("kill -9 and an immediate restart", func(t *testing.T) {
		port := freePort(t)
		old := startProc(t, nil, port, "-resolve=false")
		ta := probe(old.addr, defaultGreeting, 50, 4, nil) // leaves TIME_WAIT on the port
		if !timeWaitOn(t, port) {
			// The kernel keeps at most tcp_max_tw_buckets; on a busy host
			// the newest closes may skip TIME_WAIT.
			t.Log("no TIME_WAIT socket on the port (the host's TIME_WAIT table is full?)")
		}
		// Peers keep connecting while the server dies: some are in its
		// queue or half-greeted when the kernel closes its sockets.
		stop := make(chan struct{})
		waitInFlight := repeat(4, 1<<20, stop, func() bool { return client{}.greet(old.addr, defaultGreeting) == nil })
		time.Sleep(50 * time.Millisecond)
		killed := time.Now()
		require.NoError(t, old.cmd.Process.Kill())
		<-old.done
		close(stop)
		inFlight := waitInFlight()
		next := startProc(t, nil, port, "-resolve=false")
		var err error
		for time.Since(killed) < 2*time.Second {
			if err = (client{}).greet(next.addr, defaultGreeting); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		require.NoError(t, err)
		back := time.Since(killed)
		assert.Less(t, back, time.Second, "serving again within 1s of kill -9")
		ta.ok++
		u := next.usage(t)
		f := figures{faults: 1, wall: back, cpu: u.cpu, rssKB: u.rss, hwmKB: u.hwmKB}
		f.check(t, "kill-9", ta)
		t.Logf("FIGURES kill-9: serving again %v after SIGKILL; %d greetings around the kill", back.Round(time.Millisecond), inFlight)
	})
}
