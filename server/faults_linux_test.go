package server

// Fault injection against the real smile-server process: each scenario
// mixes well-behaved clients with one kind of hostile or broken peer (or a
// hostile environment: no descriptors, a dead or lying DNS server, a
// signal, a kill) and proves that no well-behaved client lost its
// greeting, that the server still serves afterwards, and that its CPU time
// and memory stayed bounded. The harness is in faults_harness_linux_test.go.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
	"github.com/smile-sockets/smile/internal/smiletest/procfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection runs the real server: skipped in -short mode")
	}
	big := strings.Repeat("G", bigGreetingLen)
	scenarios := []struct {
		name string
		run  func(t *testing.T, big string)
	}{
		{"peers reset at once", faultResets},
		{"peers send megabytes", faultMegabytes},
		{"peers never read a large greeting", faultNeverRead},
		{"peers half-close", faultHalfClose},
		{"peers connect and vanish", faultVanish},
		{"more peers than -max-conns wait in the queue", faultQueue},
		{"file descriptors run out", faultOutOfFDs},
		{"file descriptors run out during the drain", faultOutOfFDsDraining},
		{"DNS server hangs", faultDNSHangs},
		{"DNS server answers hostile names", faultDNSHostile},
		{"SIGTERM while 8 workers probe among faults", faultSIGTERM},
		{"kill -9 and an immediate restart", faultKill9},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, big) })
	}
}

func faultResets(t *testing.T, big string) {
	dns := dnstest.Start(t)
	p := startProc(t, nil, smiletest.FreePort(t), "-resolver", dns.Addr)
	f, ta := underFault(t, p, defaultGreeting, 300, func(stop <-chan struct{}) func() int {
		return repeat(2, 3000, stop, func() bool {
			conn, err := smiletest.Peer{}.Dial(p.addr)
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
}

func faultMegabytes(t *testing.T, big string) {
	p := startProc(t, nil, smiletest.FreePort(t), "-resolve=false")
	junk := bytes.Repeat([]byte("J"), 4<<20)
	var sent atomic.Int64
	f, ta := underFault(t, p, defaultGreeting, 200, func(stop <-chan struct{}) func() int {
		return repeat(4, 200, stop, func() bool {
			conn, err := smiletest.Peer{}.Dial(p.addr)
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
}

func faultNeverRead(t *testing.T, big string) {
	const hogs = 3
	p := startProc(t, nil, smiletest.FreePort(t), "-resolve=false", "-max-conns", "2", "-write-timeout", "300ms", "-greeting", big)
	f, ta := underFault(t, p, big, 30, func(stop <-chan struct{}) func() int {
		return repeat(hogs, 1000, stop, func() bool {
			conn, err := smiletest.Peer{Stingy: true}.Dial(p.addr)
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
	assert.Positive(t, timedOut, "the write timeout ended greetings to peers that never read: %s", p.Out)
	assert.Contains(t, p.Out.String(), "i/o timeout")
	t.Logf("FIGURES never-read: greetings ended by -write-timeout=%d", timedOut)
}

func faultHalfClose(t *testing.T, big string) {
	p := startProc(t, nil, smiletest.FreePort(t), "-resolve=false")
	var halfGreeted atomic.Int64
	f, ta := underFault(t, p, defaultGreeting, 200, func(stop <-chan struct{}) func() int {
		return repeat(2, 2000, stop, func() bool {
			conn, err := smiletest.Peer{}.Dial(p.addr)
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
}

func faultVanish(t *testing.T, big string) {
	p := startProc(t, nil, smiletest.FreePort(t), "-resolve=false")
	f, ta := underFault(t, p, defaultGreeting, 200, func(stop <-chan struct{}) func() int {
		return repeat(2, 3000, stop, func() bool {
			conn, err := smiletest.Peer{}.Dial(p.addr)
			if err != nil {
				return false
			}
			_ = conn.Close() // gone before the server accepts or writes
			return true
		})
	})
	f.check(t, "vanish", ta)
}

func faultQueue(t *testing.T, big string) {
	const queued = 100
	const writeTimeout = 700 * time.Millisecond
	p := startProc(t, nil, smiletest.FreePort(t), "-resolve=false", "-max-conns", "2", "-write-timeout", writeTimeout.String(), "-greeting", big)
	before := p.Usage(t)
	start := time.Now()
	// Two peers that never read hold both slots for the write timeout.
	for range 2 {
		hog, err := smiletest.Peer{Stingy: true}.Dial(p.addr)
		require.NoError(t, err)
		defer hog.Close()
	}
	ta := probe(p.addr, big, queued, queued, nil)
	after := p.Usage(t)
	f := figuresSince(before, after, start, 2)
	f.check(t, "queue", ta)
	assert.GreaterOrEqual(t, ta.slow, writeTimeout*8/10, "the queued peers waited for a slot")
	assert.Equal(t, queued, p.count("Connection received from 127.0.0.1", queued), "every queued peer was served")
	assert.Equal(t, 2, p.count("greeting failed", 2), "only the two hogs failed: %s", p.Out)
}

func faultOutOfFDs(t *testing.T, big string) {
	const probes = 10
	before, start := procfs.Usage{}, time.Now()
	p, hogs := outOfDescriptors(t, big)
	exhausted := p.Usage(t)
	ta := probe(p.addr, big, probes, probes, nil)
	after := p.Usage(t)
	f := figuresSince(before, after, start, hogs)
	f.check(t, "fd-exhaustion", ta)
	retries := strings.Count(p.Out.String(), "accept failed, retrying")
	assert.Contains(t, p.Out.String(), "too many open files")
	assert.Less(t, retries, 40, "the accept loop backs off (5ms doubling to 1s), it does not spin")
	assert.Less(t, after.CPU-exhausted.CPU, 300*time.Millisecond, "CPU while out of descriptors")
	t.Logf("FIGURES fd-exhaustion: RLIMIT_NOFILE=%d, accept retries logged=%d, CPU while exhausted=%v", fdLimit, retries, after.CPU-exhausted.CPU)
}

func faultOutOfFDsDraining(t *testing.T, big string) {
	p, hogs := outOfDescriptors(t, big)
	before := p.Usage(t)
	retriesBefore := strings.Count(p.Out.String(), "accept failed, retrying")
	code, took := p.Stop(t)
	retries := strings.Count(p.Out.String(), "accept failed, retrying") - retriesBefore
	cpu := p.Cmd.ProcessState.UserTime() + p.Cmd.ProcessState.SystemTime() - before.CPU
	assert.Equal(t, 0, code, "exit status after SIGTERM: %s", p.Err)
	assert.Less(t, retries, 40, "the drain backs off (5ms doubling to 1s) like the accept loop, it does not spin")
	assert.Less(t, cpu, 300*time.Millisecond, "CPU during the drain")
	greeted := strings.Count(p.Out.String(), "Connection received from") + strings.Count(p.Out.String(), "greeting failed")
	assert.Equal(t, hogs, greeted, "every queued peer was accepted during the drain: %s", p.Out)
	t.Logf("FIGURES fd-exhaustion drain: exit %d after %v, accept retries logged during the drain=%d, CPU=%v",
		code, took.Round(time.Millisecond), retries, cpu.Round(time.Millisecond))
}

func faultDNSHangs(t *testing.T, big string) {
	const peers = 100 // more than the lookups allowed in flight
	dns := dnstest.Start(t)
	dns.SetSilent(true)
	p := startProc(t, nil, smiletest.FreePort(t), "-resolver", dns.Addr, "-resolve-timeout", "1s")
	before := p.Usage(t)
	start := time.Now()
	src := func(i int) string { return fmt.Sprintf("127.0.0.%d", 2+i) }
	ta := probe(p.addr, defaultGreeting, peers, 4, src)
	greetedIn := time.Since(start)
	for i := range peers {
		line := fmt.Sprintf("Connection received from %s (%s)\n", src(i), src(i))
		require.True(t, p.Out.WaitFor(t, line, 5*time.Second), "log line %q: %s", line, p.Out)
	}
	after := p.Usage(t)
	f := figuresSince(before, after, start, int(dns.Queries()))
	f.check(t, "dns-hang", ta)
	assert.Less(t, ta.slow, 500*time.Millisecond, "no greeting waits for the dead resolver")
	assert.Less(t, greetedIn, 3*time.Second)
	assert.Positive(t, dns.Queries(), "lookups went to the test's resolver")
	require.NoError(t, greetWant(smiletest.Peer{}, p.addr, defaultGreeting), "the server still serves")
}

func faultDNSHostile(t *testing.T, big string) {
	dns := dnstest.Start(t)
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
	p := startProc(t, nil, smiletest.FreePort(t), "-resolver", dns.Addr, "-resolve-timeout", "1s")
	before := p.Usage(t)
	start := time.Now()
	srcs := []string{"127.0.0.16"}
	for _, h := range hostile {
		srcs = append(srcs, h.src)
	}
	ta := probe(p.addr, defaultGreeting, 3*len(srcs), 4, func(i int) string { return srcs[i%len(srcs)] })
	for _, s := range srcs {
		require.True(t, p.Out.WaitFor(t, "("+s+")\n", 5*time.Second), "log line for %s: %s", s, p.Out)
	}
	after := p.Usage(t)
	f := figuresSince(before, after, start, int(dns.Queries()))
	f.check(t, "dns-hostile", ta)
	log := p.Out.String()
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
	require.NoError(t, greetWant(smiletest.Peer{}, p.addr, defaultGreeting), "the server still serves")
}

func faultSIGTERM(t *testing.T, big string) {
	p := startProc(t, nil, smiletest.FreePort(t), "-resolve=false")
	before := p.Usage(t)
	start := time.Now()
	var ta tally
	var gone atomic.Int64
	stop := make(chan struct{})
	waitProbes := repeat(8, 1<<20, stop, func() bool {
		begin := time.Now()
		err := greetWant(smiletest.Peer{Src: "127.0.0.1"}, p.addr, defaultGreeting)
		if errors.Is(err, smiletest.ErrConnect) {
			gone.Add(1) // the listener is gone: expected after SIGTERM
			return false
		}
		ta.add(err, time.Since(begin))
		return true
	})
	// Resetting peers from another source address, so that the log's
	// lines for 127.0.0.1 count exactly the well-behaved greetings.
	waitFaults := repeat(2, 100000, stop, func() bool {
		conn, err := smiletest.Peer{Src: "127.0.0.2"}.Dial(p.addr)
		if err != nil {
			return false
		}
		_ = conn.SetLinger(0)
		_ = conn.Close()
		return true
	})
	time.Sleep(400 * time.Millisecond)
	last := p.Usage(t)
	code, took := p.Stop(t)
	close(stop)
	waitProbes()
	f := figuresSince(before, last, start, waitFaults())
	f.check(t, "sigterm", &ta)
	assert.Equal(t, 0, code, "exit status after SIGTERM: %s", p.Err)
	assert.Less(t, took, 5*time.Second)
	assert.Positive(t, ta.ok)
	assert.Contains(t, p.Out.String(), "SERVER shutdown complete\n")
	assert.Empty(t, p.Err.String(), "nothing on stderr")
	assert.Equal(t, ta.ok, strings.Count(p.Out.String(), "Connection received from 127.0.0.1 (127.0.0.1)"), "the log was flushed: one line per greeting")
	t.Logf("FIGURES sigterm: exit %d after %v, connects refused once the listener was gone=%d", code, took.Round(time.Millisecond), gone.Load())
}

func faultKill9(t *testing.T, big string) {
	port := smiletest.FreePort(t)
	old := startProc(t, nil, port, "-resolve=false")
	ta := probe(old.addr, defaultGreeting, 50, 4, nil) // leaves TIME_WAIT on the port
	if procfs.TimeWait(port) == 0 {
		// The kernel keeps at most tcp_max_tw_buckets; on a busy host
		// the newest closes may skip TIME_WAIT.
		t.Log("no TIME_WAIT socket on the port (the host's TIME_WAIT table is full?)")
	}
	// Peers keep connecting while the server dies: some are in its
	// queue or half-greeted when the kernel closes its sockets.
	stop := make(chan struct{})
	waitInFlight := repeat(4, 1<<20, stop, func() bool { return greetWant(smiletest.Peer{}, old.addr, defaultGreeting) == nil })
	time.Sleep(50 * time.Millisecond)
	killed := time.Now()
	require.NoError(t, old.Cmd.Process.Kill())
	<-old.Done()
	close(stop)
	inFlight := waitInFlight()
	next := startProc(t, nil, port, "-resolve=false")
	var err error
	for time.Since(killed) < 2*time.Second {
		if err = greetWant(smiletest.Peer{}, next.addr, defaultGreeting); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, err)
	back := time.Since(killed)
	assert.Less(t, back, time.Second, "serving again within 1s of kill -9")
	ta.ok++
	u := next.Usage(t)
	f := figures{faults: 1, wall: back, cpu: u.CPU, rssKB: u.RSSKB, hwmKB: u.HWMKB}
	f.check(t, "kill-9", ta)
	t.Logf("FIGURES kill-9: serving again %v after SIGKILL; %d greetings around the kill", back.Round(time.Millisecond), inFlight)
}
