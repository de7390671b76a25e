package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestDrainWaitsForASlowHandshake: a client whose SYN the server answered
// before the stop, but whose handshake completes a long round trip later,
// is greeted, not reset. TCP_DEFER_ACCEPT stands in for the slow path on
// loopback: the kernel completes the connection only when the client's
// first bytes arrive, which the test sends 400 ms after the stop.
func TestDrainWaitsForASlowHandshake(t *testing.T) {
	const roundTrip = 400 * time.Millisecond
	l, err := listenSocket(netip.MustParseAddrPort("127.0.0.1:0"), sockOpts{reuseAddr: true, backlog: 16})
	require.NoError(t, err)
	require.NoError(t, control(l.Listener, func(fd int) error {
		return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 5)
	}))
	out := &smiletest.Buffer{}
	srv := New(Options{}, NewLogger(out, "text"))
	require.Equal(t, DefaultDrainIdle, srv.drainIdle)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l.Listener) }()

	conn, err := net.Dial("tcp4", l.Listener.Addr().String())
	require.NoError(t, err, "the client's connect succeeds: its SYN was answered")
	defer conn.Close()
	time.Sleep(20 * time.Millisecond)
	cancel()
	time.Sleep(roundTrip)
	_, err = conn.Write([]byte("x")) // completes the handshake on the server
	require.NoError(t, err)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(conn)
	assert.NoError(t, err, "a client whose connect succeeded is greeted, not reset")
	assert.Equal(t, defaultGreeting, string(got))
	require.NoError(t, <-done)
	srv.Wait()
}

// TestQueuedConnectionsAreServedOnShutdown fills the kernel's queue behind
// a peer that holds the only slot, then stops the server: every queued
// peer must get the whole greeting, none a reset.
func TestQueuedConnectionsAreServedOnShutdown(t *testing.T) {
	cases := []struct {
		name     string
		listen   func(t *testing.T) net.Listener
		filtered bool
	}{
		// smile-server's own socket takes the SYN filter.
		{"smile's socket", func(t *testing.T) net.Listener {
			l, err := listenSocket(netip.MustParseAddrPort("127.0.0.1:0"), sockOpts{reuseAddr: true, backlog: 128})
			require.NoError(t, err)
			return l.Listener
		}, true},
		// Go's net.Listen makes an MPTCP listener where the kernel has
		// MPTCP, and MPTCP refuses socket filters: the fallback drain.
		{"a listener without the filter", func(t *testing.T) net.Listener {
			needTCPInfo(t) // the fallback drain counts the queue with TCP_INFO
			var lc net.ListenConfig
			lc.SetMultipathTCP(true)
			l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
			require.NoError(t, err)
			if dropNewSYNs(l) == nil {
				_ = l.Close()
				t.Skip("this kernel filters MPTCP listeners too (or has no MPTCP): the filtered case covers it")
			}
			return l
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { testDrain(t, c.listen(t), c.filtered) })
	}
}

func testDrain(t *testing.T, ln net.Listener, filtered bool) {
	big := strings.Repeat("B", 1<<20)
	var err error
	out := &smiletest.Buffer{}
	srv := New(Options{Greeting: []byte(big), WriteTimeout: 2 * time.Second, MaxConns: 1}, NewLogger(out, "text"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	// The hog never reads and advertises a tiny window, so the greeting
	// cannot fit in socket buffers and its write holds the only slot.
	hog, err := smiletest.Peer{Stingy: true}.Dial(ln.Addr().String())
	require.NoError(t, err)
	defer hog.Close()
	require.Eventually(t, func() bool { return srv.tcp.slots.inUse() == 1 }, 5*time.Second, 5*time.Millisecond)

	const queued = 20
	results := make(chan error, queued)
	conns := make([]net.Conn, queued)
	for i := range conns {
		conns[i], err = net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
	}
	cancel() // as SIGTERM: the queue must still be served
	// New peers must not join the drain: where the kernel takes the socket
	// filter, their SYN is dropped and the dial times out; where it does
	// not, the server serves only the connections queued when the drain
	// began, so the late one is reset with the listener, never greeted.
	time.Sleep(50 * time.Millisecond)
	late, err := net.DialTimeout("tcp", ln.Addr().String(), 300*time.Millisecond)
	if filtered {
		require.Error(t, err, "a connection after shutdown began must not be queued")
		assert.True(t, isTimeout(err), "the SYN is dropped, not refused: %v", err)
	} else {
		require.NoError(t, err, "without a filter the kernel still queues it")
		defer late.Close()
		assert.True(t, out.WaitFor(t, "serving those already queued", 2*time.Second), out.String())
	}
	for _, c := range conns {
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			got, err := io.ReadAll(c)
			if err == nil && len(got) != len(big) {
				err = fmt.Errorf("got %d bytes, want %d", len(got), len(big))
			}
			results <- err
		}()
	}
	for range queued {
		assert.NoError(t, <-results)
	}
	require.NoError(t, <-done)
	srv.Wait()
	if late != nil {
		_ = late.SetDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(late)
		assert.Empty(t, got, "the connection that arrived during the drain is not served")
	}
	_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	assert.Error(t, err, "the listener is closed after the drain")
}

// TestDrainOwesOnlyAcceptedConnections: in the drain without a SYN
// filter, the count of queued connections is used up by accepts that
// succeed, never by failed ones (EMFILE), so no queued peer is left to be
// reset; without a count the drain ends after drainLimit.
func TestDrainOwesOnlyAcceptedConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	d := &drain{ln: ln, idle: time.Second, mode: queuedOnly, left: 2}
	for range 5 { // failed accepts: nothing accepted, nothing owed less
		require.True(t, d.next())
	}
	d.accepted()
	assert.True(t, d.next(), "one queued connection is still owed")
	d.accepted()
	assert.False(t, d.next(), "both queued connections were served")

	d = &drain{ln: ln, idle: time.Second, mode: untilLimit, giveUp: time.Now().Add(50 * time.Millisecond)}
	assert.True(t, d.next())
	time.Sleep(60 * time.Millisecond)
	assert.False(t, d.next(), "past drainLimit the drain ends whatever is left")

	d = &drain{ln: ln, idle: time.Second}
	assert.True(t, d.next(), "serving: accept for ever")
}

// TestDrainGivesUpWhenDescriptorsNeverComeBack: with every descriptor held
// by something other than a greeting, accept(2) fails for good; SIGTERM
// must still end the process, once greetings could have given descriptors
// back (write timeout, linger, idle window), with exit 1 and the reason.
func TestDrainGivesUpWhenDescriptorsNeverComeBack(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) not installed")
	}
	p := startProc(t, nil, smiletest.FreePort(t), "-resolve=false", "-udp=false", "-write-timeout", "500ms", "-drain-idle", "200ms") // a UDP socket would give its descriptor back at the stop
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Pid()))
	require.NoError(t, err)
	open := map[string]bool{}
	for _, e := range entries {
		open[e.Name()] = true
	}
	lowestFree := 0
	for open[strconv.Itoa(lowestFree)] {
		lowestFree++
	}
	// A new descriptor takes the lowest free number, which must be below
	// RLIMIT_NOFILE: no accept can succeed any more.
	out, err := exec.Command(prlimit, "--pid", strconv.Itoa(p.Pid()), fmt.Sprintf("--nofile=%d:%d", lowestFree, lowestFree)).CombinedOutput()
	require.NoError(t, err, "%s", out)
	conn, err := net.Dial("tcp4", p.addr) // queued; the server can't take it
	require.NoError(t, err)
	defer conn.Close()
	require.True(t, p.Out.WaitFor(t, "accept failed, retrying", 5*time.Second), "%s", p.Out)

	code, took := p.Stop(t)
	assert.Equal(t, 1, code, "stdout: %s\nstderr: %s", p.Out, p.Err)
	assert.Less(t, took, 5*time.Second, "bounded by -write-timeout + linger + -drain-idle, about 1.7 s")
	assert.Contains(t, p.Err.String(), "accept kept failing")
}

// TestTinyDrainIdleServesTheQueue: however small the idle window
// (-drain-idle) is, every connection the kernel queued before the stop is
// greeted; the window governs only handshakes still to come. A peer that
// never reads a large greeting holds the only slot while the others queue
// and the stop begins; once it reads, the drain takes the queue. On the
// late path every other idle window has passed before the accept asks the
// kernel, as when the accept loop waits for the CPU: such a timeout must
// not end the drain while peers are queued.
func TestTinyDrainIdleServesTheQueue(t *testing.T) {
	const queued = 20
	big := strings.Repeat("B", 1<<20)
	for _, path := range []string{"fast path", "net path", "late path"} {
		for _, idle := range []time.Duration{time.Nanosecond, time.Microsecond, 10 * time.Millisecond} {
			t.Run(path+"/"+idle.String(), func(t *testing.T) {
				l, err := listenSocket(netip.MustParseAddrPort("127.0.0.1:0"), sockOpts{reuseAddr: true, backlog: 128})
				require.NoError(t, err)
				addr := l.Listener.Addr().String()
				ln := l.Listener
				switch path {
				case "net path":
					// Not a *net.TCPListener, so Serve greets through the net
					// package, as it does on every other system.
					ln = netPathListener{l.Listener.(*net.TCPListener)}
				case "late path":
					ln = &lateListener{netPathListener: netPathListener{l.Listener.(*net.TCPListener)}}
				}
				srv := New(Options{Greeting: []byte(big), MaxConns: 1, DrainIdle: idle}, NewLogger(io.Discard, "text"))
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- srv.Serve(ctx, ln) }()

				hog, err := smiletest.Peer{Stingy: true}.Dial(addr)
				require.NoError(t, err)
				defer hog.Close()
				require.Eventually(t, func() bool { return srv.tcp.slots.inUse() == 1 }, 5*time.Second, 5*time.Millisecond)
				conns := make([]net.Conn, queued)
				for i := range conns {
					conns[i], err = net.Dial("tcp4", addr)
					require.NoError(t, err)
					defer conns[i].Close()
				}
				cancel() // as SIGTERM, with every peer but the hog in the queue
				time.Sleep(20 * time.Millisecond)
				_, err = io.Copy(io.Discard, hog) // the slot comes free
				require.NoError(t, err)

				greeted, reset := 0, 0
				for _, c := range conns {
					_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
					got, err := io.ReadAll(c)
					switch {
					case err == nil && len(got) == len(big):
						greeted++
					case errors.Is(err, unix.ECONNRESET):
						reset++
					default:
						t.Errorf("got %d bytes, %v", len(got), err)
					}
				}
				require.NoError(t, <-done)
				srv.Wait()
				t.Logf("FIGURES drain idle %v: %d queued, %d greeted, %d reset", idle, queued, greeted, reset)
				assert.Equal(t, queued, greeted, "every queued connection is greeted")
			})
		}
	}
}

// netPathListener hides a TCP listener's type from the fast path.
type netPathListener struct{ *net.TCPListener }

// lateListener is a net-path listener whose every other deadline has
// passed by the time it is set: the accept loop waited for the CPU longer
// than the drain's idle window.
type lateListener struct {
	netPathListener
	n atomic.Int32
}

func (l *lateListener) SetDeadline(t time.Time) error {
	if !t.IsZero() && l.n.Add(1)%2 == 0 {
		t = time.Now().Add(-time.Second)
	}
	return l.TCPListener.SetDeadline(t)
}
