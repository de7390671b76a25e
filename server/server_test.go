package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// serveOn runs a Server on a :0 loopback listener until the test ends.
func serveOn(t *testing.T, greeting string, maxConns int, writeTimeout time.Duration) (string, *syncBuffer, context.CancelFunc, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	out := &syncBuffer{}
	srv := New(Options{Greeting: []byte(greeting), WriteTimeout: writeTimeout, MaxConns: maxConns}, NewLogger(out, "text"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ctx, ln)
		srv.Wait()
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), out, cancel, done
}

func TestGreetingIsExactBytesThenEOF(t *testing.T) {
	addr, out, _, _ := serveOn(t, defaultGreeting, 8, time.Second)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(conn)
	require.NoError(t, err, "the server must close with a FIN, not a reset")
	assert.Equal(t, []byte("Smile from the server"), got)
	assert.Len(t, got, 21)
	assert.True(t, out.waitFor(t, "Connection received from 127.0.0.1 (127.0.0.1)", 2*time.Second), out.String())
}

func TestBytesFromTheClientAreIgnored(t *testing.T) {
	addr, _, _, _ := serveOn(t, defaultGreeting, 8, time.Second)
	for _, size := range []int{1, 100, 4096, 60000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			_, err = conn.Write([]byte(strings.Repeat("x", size)))
			require.NoError(t, err)
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(conn)
			assert.NoError(t, err, "sent bytes must not turn the close into a reset")
			assert.Equal(t, defaultGreeting, string(got))
		})
	}
}

func TestCustomGreetingIsWrittenAsGiven(t *testing.T) {
	for _, g := range []string{"hi", "line one\nline two\n", "no newline\r\nat end", strings.Repeat("z", 100000)} {
		addr, _, _, _ := serveOn(t, g, 8, 5*time.Second)
		got, err := greet("tcp", addr)
		require.NoError(t, err)
		assert.Equal(t, g, got)
	}
}

// TestAddressingOnLoopback is the addressing matrix as loopback can
// express it: which bind accepts which family.
func TestAddressingOnLoopback(t *testing.T) {
	const ok, refused = "ok", "refused"
	rows := []struct {
		name   string
		args   func(port int) []string
		v4, v6 string // dialling 127.0.0.1 and ::1
		needV6 bool
	}{
		{"default :P dual-stack", func(p int) []string { return []string{fmt.Sprint(p)} }, ok, ok, true},
		{"[::]:P dual-stack", func(p int) []string { return []string{"-listen", fmt.Sprintf("[::]:%d", p)} }, ok, ok, true},
		{"0.0.0.0:P", func(p int) []string { return []string{"-listen", fmt.Sprintf("0.0.0.0:%d", p)} }, ok, refused, false},
		{"[::]:P -v6only", func(p int) []string { return []string{"-v6only", "-listen", fmt.Sprintf("[::]:%d", p)} }, refused, ok, true},
		{":P -v6only", func(p int) []string { return []string{"-v6only", "-listen", fmt.Sprintf(":%d", p)} }, refused, ok, true},
		{"0.0.0.0:P and [::]:P -v6only", func(p int) []string {
			return []string{"-v6only", "-listen", fmt.Sprintf("0.0.0.0:%d", p), "-listen", fmt.Sprintf("[::]:%d", p)}
		}, ok, ok, true},
		{"127.0.0.1:P", func(p int) []string { return []string{"-listen", fmt.Sprintf("127.0.0.1:%d", p)} }, ok, refused, false},
		{"[::1]:P", func(p int) []string { return []string{"-listen", fmt.Sprintf("[::1]:%d", p)} }, refused, ok, true},
		{"localhost:P", func(p int) []string { return []string{"-listen", fmt.Sprintf("localhost:%d", p)} }, ok, "", false},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			if row.needV6 {
				requireIPv6(t)
			}
			dns := stubDNS(t)
			port := freePort(t)
			s := startServer(t, append([]string{"-resolver", dns.Addr}, row.args(port)...)...)
			for _, c := range []struct{ network, host, want string }{{"tcp4", "127.0.0.1", row.v4}, {"tcp6", "::1", row.v6}} {
				if c.want == "" || c.network == "tcp6" && !supportsIPv6() {
					continue
				}
				got, err := greet(c.network, net.JoinHostPort(c.host, fmt.Sprint(port)))
				if c.want == ok {
					require.NoError(t, err, "dialling %s", c.host)
					assert.Equal(t, defaultGreeting, got)
					assert.True(t, s.out.waitFor(t, fmt.Sprintf("(%s)", c.host), 5*time.Second), "log names the peer %s: %s", c.host, s.out)
				} else {
					assert.ErrorContains(t, err, "connection refused", "dialling %s", c.host)
				}
			}
			assert.NotContains(t, s.out.String(), "::ffff:", "IPv4 peers are logged as dotted IPv4")
		})
	}
}

// TestStartLinesKeepTheTutorialsWords checks the start line for each
// kind of listener.
func TestStartLinesKeepTheTutorialsWords(t *testing.T) {
	requireIPv6(t)
	port := freePort(t)
	cases := []struct {
		args  []string
		lines []string
	}{
		{[]string{"-listen", fmt.Sprintf("[::]:%d", port)}, []string{fmt.Sprintf("SERVER started on port %d (listening on [::]:%d, dual-stack)", port, port)}},
		{[]string{"-v6only", "-listen", fmt.Sprintf("[::]:%d,127.0.0.1:%d", port, port)}, []string{
			fmt.Sprintf("SERVER started on port %d (listening on [::]:%d, IPv6 only)", port, port),
			fmt.Sprintf("SERVER started on port %d (listening on 127.0.0.1:%d, IPv4 only)", port, port),
		}},
	}
	for _, c := range cases {
		s := startServer(t, append([]string{"-resolve=false"}, c.args...)...)
		assert.Equal(t, c.lines, s.out.lines())
		assert.Equal(t, 0, s.stop())
	}
}

func TestPeerNamesComeFromTheResolverSanitized(t *testing.T) {
	dns := stubDNS(t)
	dns.AddPTR("127.0.0.3", "peer-three.smile.test")
	dns.AddPTR("127.0.0.4", "evil\x1b[31m\n.smile.test")
	port := freePort(t)
	s := startServer(t, "-resolver", dns.Addr, "-listen", fmt.Sprintf("0.0.0.0:%d", port))
	for _, c := range []struct{ from, line string }{
		{"127.0.0.3", "Connection received from peer-three.smile.test (127.0.0.3)"},
		{"127.0.0.5", "Connection received from 127.0.0.5 (127.0.0.5)"},
	} {
		got, err := greetFrom(c.from, fmt.Sprintf("127.0.0.1:%d", port))
		require.NoError(t, err)
		assert.Equal(t, defaultGreeting, got)
		assert.True(t, s.out.waitFor(t, c.line+"\n", 5*time.Second), "want %q in %s", c.line, s.out)
	}
	_, err := greetFrom("127.0.0.4", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err)
	require.True(t, s.out.waitFor(t, "(127.0.0.4)", 5*time.Second))
	for _, b := range []byte(s.out.String()) {
		if b < 0x20 && b != '\n' {
			t.Fatalf("raw control byte %#x in the log: %q", b, s.out)
		}
	}
}

// greetFrom greets from a chosen loopback source address, so that reverse
// lookups miss /etc/hosts and reach the test's resolver.
func greetFrom(src, addr string) (string, error) {
	d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	conn, err := d.Dial("tcp4", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(conn)
	return string(b), err
}

func TestDeadResolverNeverDelaysAGreeting(t *testing.T) {
	dns := stubDNS(t)
	dns.SetSilent(true)
	port := freePort(t)
	const resolveTimeout = time.Second
	s := startServer(t, "-resolver", dns.Addr, "-resolve-timeout", resolveTimeout.String(), "-listen", fmt.Sprintf("127.0.0.1:%d", port))
	start := time.Now()
	for i := 2; i < 12; i++ {
		got, err := greetFrom(fmt.Sprintf("127.0.0.%d", i), fmt.Sprintf("127.0.0.1:%d", port))
		require.NoError(t, err)
		assert.Equal(t, defaultGreeting, got)
	}
	greeted := time.Since(start)
	assert.Less(t, greeted, resolveTimeout/2, "10 greetings must not wait for a dead resolver")
	require.True(t, s.out.waitFor(t, "Connection received from 127.0.0.11 (127.0.0.11)", 5*time.Second), s.out.String())
	assert.GreaterOrEqual(t, time.Since(start), resolveTimeout*9/10, "the log line waits for the lookup's timeout")
	assert.Positive(t, dns.Queries(), "the lookups went to the test's resolver")
	for i := 2; i < 12; i++ {
		assert.Contains(t, s.out.String(), fmt.Sprintf("Connection received from 127.0.0.%d (127.0.0.%d)\n", i, i))
	}
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
	out := &syncBuffer{}
	srv := New(Options{Greeting: []byte(big), WriteTimeout: 2 * time.Second, MaxConns: 1}, NewLogger(out, "text"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	// The hog never reads and advertises a tiny window, so the greeting
	// cannot fit in socket buffers and its write holds the only slot.
	hogDialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
			_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_MAXSEG, 536)
		})
	}}
	hog, err := hogDialer.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer hog.Close()
	require.Eventually(t, func() bool { return srv.slots.inUse() == 1 }, 5*time.Second, 5*time.Millisecond)

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
		assert.True(t, out.waitFor(t, "serving those already queued", 2*time.Second), out.String())
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

func TestJSONLogFormat(t *testing.T) {
	port := freePort(t)
	s := startServer(t, "-resolve=false", "-log-format", "json", "-listen", fmt.Sprintf("127.0.0.1:%d", port))
	_, err := greet("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err)
	require.True(t, s.out.waitFor(t, `"msg":"Connection received from 127.0.0.1 (127.0.0.1)"`, 5*time.Second), s.out.String())
	assert.Contains(t, s.out.String(), fmt.Sprintf(`"msg":"SERVER started on port %d (listening on 127.0.0.1:%d, IPv4 only)"`, port, port))
	assert.Contains(t, s.out.String(), `"peer":"127.0.0.1"`)
}

func TestTextHandlerEscapesControlBytes(t *testing.T) {
	var out syncBuffer
	log := NewLogger(&out, "text")
	log.Info("a\nb\x1b[2J")
	log.Warn("w", "err", "x y")
	lines := out.lines()
	require.Len(t, lines, 2)
	assert.Equal(t, `a'\n'b'\x1b'[2J`, lines[0])
	assert.Equal(t, `w err="x y"`, lines[1])
	_ = slog.LevelInfo
}

func TestVersion(t *testing.T) {
	var out, errb syncBuffer
	code := Run(context.Background(), []string{"-version"}, noEnv, &out, &errb)
	assert.Equal(t, 0, code)
	assert.Regexp(t, `^smile-server \S+ \(revision \S+, go1\.\S+, linux/\w+\)\n$`, out.String())
}

func TestHelpListsEveryFlag(t *testing.T) {
	var out, errb syncBuffer
	code := Run(context.Background(), []string{"-h"}, noEnv, &out, &errb)
	assert.Equal(t, 0, code)
	for _, f := range []string{"listen", "v6only", "reuseaddr", "backlog", "greeting", "resolve", "resolve-timeout", "resolver", "max-conns", "write-timeout", "drain-idle", "log-format", "healthcheck", "version"} {
		assert.Regexp(t, `(?m)^  -`+f+`( |$)`, out.String(), "flag %s", f)
	}
}
