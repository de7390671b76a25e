package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveOn runs a Server on a :0 loopback listener until the test ends.
func serveOn(t *testing.T, greeting string, maxConns int, writeTimeout time.Duration) (string, *smiletest.Buffer, context.CancelFunc, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	out := &smiletest.Buffer{}
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
	assert.True(t, out.WaitFor(t, "Connection received from 127.0.0.1 (127.0.0.1)", 2*time.Second), out.String())
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
		got, err := smiletest.Peer{}.Greet(addr)
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
				smiletest.RequireIPv6(t)
			}
			dns := dnstest.Start(t)
			port := smiletest.FreePort(t)
			s := startServer(t, append([]string{"-resolver", dns.Addr}, row.args(port)...)...)
			for _, c := range []struct{ network, host, want string }{{"tcp4", "127.0.0.1", row.v4}, {"tcp6", "::1", row.v6}} {
				if c.want == "" || c.network == "tcp6" && !smiletest.SupportsIPv6() {
					continue
				}
				got, err := smiletest.Peer{Network: c.network}.Greet(net.JoinHostPort(c.host, fmt.Sprint(port)))
				if c.want == ok {
					require.NoError(t, err, "dialling %s", c.host)
					assert.Equal(t, defaultGreeting, got)
					assert.True(t, s.out.WaitFor(t, fmt.Sprintf("(%s)", c.host), 5*time.Second), "log names the peer %s: %s", c.host, s.out)
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
	smiletest.RequireIPv6(t)
	port := smiletest.FreePort(t)
	cases := []struct {
		args  []string
		lines []string
	}{
		{[]string{"-listen", fmt.Sprintf("[::]:%d", port)}, []string{
			fmt.Sprintf("SERVER started on port %d (listening on [::]:%d, dual-stack)", port, port),
			fmt.Sprintf("SERVER answering datagrams on [::]:%d (dual-stack)", port),
		}},
		{[]string{"-v6only", "-listen", fmt.Sprintf("[::]:%d,127.0.0.1:%d", port, port)}, []string{
			fmt.Sprintf("SERVER started on port %d (listening on [::]:%d, IPv6 only)", port, port),
			fmt.Sprintf("SERVER started on port %d (listening on 127.0.0.1:%d, IPv4 only)", port, port),
			fmt.Sprintf("SERVER answering datagrams on [::]:%d (IPv6 only)", port),
			fmt.Sprintf("SERVER answering datagrams on 127.0.0.1:%d (IPv4 only)", port),
		}},
		{[]string{"-udp=false", "-listen", fmt.Sprintf("127.0.0.1:%d", port)}, []string{
			fmt.Sprintf("SERVER started on port %d (listening on 127.0.0.1:%d, IPv4 only)", port, port),
		}},
	}
	for _, c := range cases {
		s := startServer(t, append([]string{"-resolve=false"}, c.args...)...)
		assert.Equal(t, c.lines, s.out.LogLines())
		assert.Equal(t, 0, s.stop())
	}
}

func TestPeerNamesComeFromTheResolverSanitized(t *testing.T) {
	dns := dnstest.Start(t)
	dns.AddPTR("127.0.0.3", "peer-three.smile.test")
	dns.AddPTR("127.0.0.4", "evil\x1b[31m\n.smile.test")
	port := smiletest.FreePort(t)
	s := startServer(t, "-resolver", dns.Addr, "-listen", fmt.Sprintf("0.0.0.0:%d", port))
	for _, c := range []struct{ from, line string }{
		{"127.0.0.3", "Connection received from peer-three.smile.test (127.0.0.3)"},
		{"127.0.0.5", "Connection received from 127.0.0.5 (127.0.0.5)"},
	} {
		got, err := smiletest.Peer{Network: "tcp4", Src: c.from}.Greet(fmt.Sprintf("127.0.0.1:%d", port))
		require.NoError(t, err)
		assert.Equal(t, defaultGreeting, got)
		assert.True(t, s.out.WaitFor(t, c.line+"\n", 5*time.Second), "want %q in %s", c.line, s.out)
	}
	_, err := smiletest.Peer{Network: "tcp4", Src: "127.0.0.4"}.Greet(fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err)
	require.True(t, s.out.WaitFor(t, "(127.0.0.4)", 5*time.Second))
	for _, b := range []byte(s.out.String()) {
		if b < 0x20 && b != '\n' {
			t.Fatalf("raw control byte %#x in the log: %q", b, s.out)
		}
	}
}

func TestDeadResolverNeverDelaysAGreeting(t *testing.T) {
	dns := dnstest.Start(t)
	dns.SetSilent(true)
	port := smiletest.FreePort(t)
	const resolveTimeout = time.Second
	s := startServer(t, "-resolver", dns.Addr, "-resolve-timeout", resolveTimeout.String(), "-listen", fmt.Sprintf("127.0.0.1:%d", port))
	start := time.Now()
	for i := 2; i < 12; i++ {
		got, err := smiletest.Peer{Network: "tcp4", Src: fmt.Sprintf("127.0.0.%d", i)}.Greet(fmt.Sprintf("127.0.0.1:%d", port))
		require.NoError(t, err)
		assert.Equal(t, defaultGreeting, got)
	}
	greeted := time.Since(start)
	assert.Less(t, greeted, resolveTimeout/2, "10 greetings must not wait for a dead resolver")
	require.True(t, s.out.WaitFor(t, "Connection received from 127.0.0.11 (127.0.0.11)", 5*time.Second), s.out.String())
	assert.GreaterOrEqual(t, time.Since(start), resolveTimeout*9/10, "the log line waits for the lookup's timeout")
	assert.Positive(t, dns.Queries(), "the lookups went to the test's resolver")
	for i := 2; i < 12; i++ {
		// The lookups end in no set order, and the log is flushed every
		// 100 ms: wait for each line, not only for the last peer's.
		line := fmt.Sprintf("Connection received from 127.0.0.%d (127.0.0.%d)\n", i, i)
		assert.True(t, s.out.WaitFor(t, line, 2*time.Second), "want %q in %s", line, s.out)
	}
}

func TestJSONLogFormat(t *testing.T) {
	port := smiletest.FreePort(t)
	s := startServer(t, "-resolve=false", "-log-format", "json", "-listen", fmt.Sprintf("127.0.0.1:%d", port))
	_, err := smiletest.Peer{}.Greet(fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err)
	require.True(t, s.out.WaitFor(t, `"msg":"Connection received from 127.0.0.1 (127.0.0.1)"`, 5*time.Second), s.out.String())
	assert.Contains(t, s.out.String(), fmt.Sprintf(`"msg":"SERVER started on port %d (listening on 127.0.0.1:%d, IPv4 only)"`, port, port))
	assert.Contains(t, s.out.String(), `"peer":"127.0.0.1"`)
}

func TestTextHandlerEscapesControlBytes(t *testing.T) {
	var out smiletest.Buffer
	log := NewLogger(&out, "text")
	log.Info("a\nb\x1b[2J")
	log.Warn("w", "err", "x y")
	lines := out.LogLines()
	require.Len(t, lines, 2)
	assert.Equal(t, `a'\n'b'\x1b'[2J`, lines[0])
	assert.Equal(t, `w err="x y"`, lines[1])
	_ = slog.LevelInfo
}

func TestVersion(t *testing.T) {
	var out, errb smiletest.Buffer
	code := Run(context.Background(), []string{"-version"}, noEnv, &out, &errb)
	assert.Equal(t, 0, code)
	assert.Regexp(t, `^smile-server \S+ \(revision \S+, go1\.\S+, linux/\w+\)\n$`, out.String())
}

func TestHelpListsEveryFlag(t *testing.T) {
	var out, errb smiletest.Buffer
	code := Run(context.Background(), []string{"-h"}, noEnv, &out, &errb)
	assert.Equal(t, 0, code)
	for _, f := range []string{"listen", "v6only", "reuseaddr", "backlog", "greeting", "resolve", "resolve-timeout", "resolver", "max-conns", "write-timeout", "drain-idle", "log-format", "healthcheck", "version"} {
		assert.Regexp(t, `(?m)^  -`+f+`( |$)`, out.String(), "flag %s", f)
	}
	// Each flag's entry says its default at most once.
	for _, entry := range strings.Split(out.String(), "\n  -")[1:] {
		assert.LessOrEqual(t, strings.Count(entry, "default"), 1, "-%s", entry)
	}
}
