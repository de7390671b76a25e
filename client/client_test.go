package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/nettest"

	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
)

const greeting = "Smile from the server"

// peer is a TCP server of the test's own with a chosen behaviour, from the
// tutorial's server to hostile ones.
func peer(t *testing.T, network, addr string, handle func(net.Conn)) (host, port string) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	require.NoError(t, err)
	serve(t, ln, handle)
	host, port, _ = net.SplitHostPort(ln.Addr().String())
	return host, port
}

// serve runs handle on every connection ln accepts until the test ends.
func serve(t *testing.T, ln net.Listener, handle func(net.Conn)) {
	t.Helper()
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
}

// writes is the tutorial's server with a greeting of the test's choice.
func writes(s string) func(net.Conn) {
	return func(c net.Conn) { _, _ = c.Write([]byte(s)) }
}

// runClient runs the client with no SMILE_* environment.
func runClient(t *testing.T, args ...string) (code int, stdout, stderr string, elapsed time.Duration) {
	t.Helper()
	return runClientEnv(t, nil, args...)
}

func runClientEnv(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string, elapsed time.Duration) {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	code = Run(ctx, args, lookup, &out, &errb)
	return code, out.String(), errb.String(), time.Since(start)
}

func TestPrintsTheGreetingLineByLine(t *testing.T) {
	cases := []struct{ sent, printed string }{
		{greeting, "Smile from the server\n"},
		{"line one\nline two", "line one\nline two\n"},
		{"line one\nline two\n", "line one\nline two\n"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%q", c.sent), func(t *testing.T) {
			host, port := peer(t, "tcp4", "127.0.0.1:0", writes(c.sent))
			code, out, errOut, _ := runClient(t, host, port)
			assert.Equal(t, 0, code, errOut)
			assert.Equal(t, c.printed, out)
			assert.Empty(t, errOut)
		})
	}
}

func TestTargets(t *testing.T) {
	_, port4 := peer(t, "tcp4", "127.0.0.1:0", writes(greeting))
	cases := []struct {
		name string
		args []string
		v6   bool
	}{
		{"dotted IPv4 and port", []string{"127.0.0.1", port4}, false},
		{"host:port", []string{"127.0.0.1:" + port4}, false},
		{"hostname", []string{"localhost", port4}, false},
		{"hostname -4", []string{"-4", "localhost", port4}, false},
		{"hostname:port", []string{"localhost:" + port4}, false},
		{"flags after the target", []string{"127.0.0.1", port4, "-timeout", "2s"}, false},
	}
	if nettest.SupportsIPv6() {
		_, port6 := peer(t, "tcp6", "[::1]:0", writes(greeting))
		cases = append(cases,
			struct {
				name string
				args []string
				v6   bool
			}{"bare IPv6 and port", []string{"::1", port6}, true},
			struct {
				name string
				args []string
				v6   bool
			}{"[IPv6]:port", []string{"[::1]:" + port6}, true},
			struct {
				name string
				args []string
				v6   bool
			}{"[IPv6] and port", []string{"[::1]", port6}, true},
			struct {
				name string
				args []string
				v6   bool
			}{"-6 and IPv6", []string{"-6", "::1", port6}, true},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut, _ := runClient(t, c.args...)
			assert.Equal(t, 0, code, errOut)
			assert.Equal(t, greeting+"\n", out)
		})
	}
}

func TestVerboseSaysWhatWasDialled(t *testing.T) {
	_, port := peer(t, "tcp4", "127.0.0.1:0", writes(greeting))
	code, out, errOut, _ := runClient(t, "-v", "127.0.0.1", port)
	assert.Equal(t, 0, code)
	assert.Equal(t, greeting+"\n", out)
	assert.Regexp(t, fmt.Sprintf(`^smile-client: \+\d+\.\dms dialling 127\.0\.0\.1:%s over IPv4\nsmile-client: \+\d+\.\dms connected to 127\.0\.0\.1:%s over IPv4\n$`, port, port), errOut)
}

// closedPort returns a loopback port where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, ln.Close())
	return port
}

// TestHostileServers: each misbehaving server ends the client within its
// timeouts, with exit 1 and the right class.
func TestHostileServers(t *testing.T) {
	never := func(c net.Conn) { _, _ = io.Copy(io.Discard, c) } // accepts, never writes, never closes
	slowDrip := func(c net.Conn) {
		for range 30 {
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(time.Second)
		}
	}
	flood := func(c net.Conn) {
		chunk := bytes.Repeat([]byte("A"), 32<<10)
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}
	reset := func(c net.Conn) {
		_ = c.(*net.TCPConn).SetLinger(0)
	}
	resetMid := func(c net.Conn) {
		_, _ = c.Write([]byte("Smile fr"))
		time.Sleep(50 * time.Millisecond)
		_ = c.(*net.TCPConn).SetLinger(0)
	}
	cases := []struct {
		name    string
		handle  func(net.Conn)
		args    []string
		class   string
		message string
		within  time.Duration
	}{
		{"never writes", never, []string{"-read-timeout", "500ms"}, "timeout", "connected to 127.0.0.1:%s, but no greeting: timeout", 3 * time.Second},
		{"one byte a second", slowDrip, []string{"-read-timeout", "1500ms"}, "timeout", "connected to 127.0.0.1:%s, but the greeting broke off after 2 bytes: timeout", 4 * time.Second},
		{"infinite stream", flood, []string{"-max-bytes", "1000"}, "too-large", "can't read the greeting from 127.0.0.1:%s: too-large: more than 1000 bytes (-max-bytes)", 3 * time.Second},
		{"resets at once", reset, nil, "reset", "connected to 127.0.0.1:%s, but no greeting: reset", 3 * time.Second},
		{"resets mid-greeting", resetMid, nil, "reset", "connected to 127.0.0.1:%s, but the greeting broke off after 8 bytes: reset", 3 * time.Second},
		{"wrong greeting", writes("Frown from the server"), []string{"-expect", greeting}, "mismatch", "unexpected greeting from 127.0.0.1:%s: mismatch: got \"Frown from the server\", want \"Smile from the server\"", 3 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, port := peer(t, "tcp4", "127.0.0.1:0", c.handle)
			code, out, errOut, elapsed := runClient(t, append(c.args, "127.0.0.1", port)...)
			assert.Equal(t, 1, code)
			assert.Empty(t, out)
			want := "smile-client: " + fmt.Sprintf(c.message, port) + "\n"
			if c.class == "reset" && strings.HasPrefix(errOut, "smile-client: can't connect") {
				// A reset can beat connect(2)'s completion to the client.
				want = "smile-client: " + fmt.Sprintf("can't connect to 127.0.0.1:%s: reset", port) + "\n"
			}
			assert.Equal(t, want, errOut)
			assert.Less(t, elapsed, c.within)
		})
	}
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		port := closedPort(t)
		code, _, errOut, elapsed := runClient(t, "127.0.0.1", port)
		assert.Equal(t, 1, code)
		assert.Equal(t, fmt.Sprintf("smile-client: can't connect to 127.0.0.1:%s: refused\n", port), errOut)
		assert.Less(t, elapsed, time.Second)
	})
	t.Run("expect matches", func(t *testing.T) {
		t.Parallel()
		_, port := peer(t, "tcp4", "127.0.0.1:0", writes(greeting))
		code, out, _, _ := runClient(t, "-expect", greeting, "127.0.0.1", port)
		assert.Equal(t, 0, code)
		assert.Equal(t, greeting+"\n", out)
	})
}

// TestNamesThroughATestResolver resolves names at a DNS server of the
// test's own: an AAAA-only name with -4 is a dns failure, an unknown name
// too, and a name that points where nothing listens is refused.
func TestNamesThroughATestResolver(t *testing.T) {
	dns := dnstest.Start(t)
	dns.AddHost("six-only.smile.test", "::1")
	dns.AddHost("nobody-home.smile.test", "127.0.0.1")
	_, port := peer(t, "tcp4", "127.0.0.1:0", writes(greeting))
	dead := closedPort(t)
	cases := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"AAAA only with -4", []string{"-4", "six-only.smile.test", port}, 1, "smile-client: can't resolve six-only.smile.test: dns: no such host\n"},
		{"no such host", []string{"no-such-host.invalid", port}, 1, "smile-client: can't resolve no-such-host.invalid: dns: no such host\n"},
		{"nothing listens", []string{"nobody-home.smile.test", dead}, 1, fmt.Sprintf("smile-client: can't connect to nobody-home.smile.test:%s (127.0.0.1:%s): refused\n", dead, dead)},
		{"resolves and greets", []string{"nobody-home.smile.test", port}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut, elapsed := runClient(t, append([]string{"-resolver", dns.Addr, "-timeout", "2s"}, c.args...)...)
			assert.Equal(t, c.code, code)
			assert.Equal(t, c.err, errOut)
			assert.Less(t, elapsed, 3*time.Second)
		})
	}
	t.Run("dead resolver", func(t *testing.T) {
		dead := dnstest.Start(t)
		dead.SetSilent(true)
		code, _, errOut, elapsed := runClient(t, "-resolver", dead.Addr, "-timeout", "700ms", "somewhere.smile.test", port)
		assert.Equal(t, 1, code)
		assert.Equal(t, "smile-client: can't resolve somewhere.smile.test: dns: timeout\n", errOut)
		assert.Less(t, elapsed, 2*time.Second, "-timeout bounds resolution too")
	})
}

func TestProbeMode(t *testing.T) {
	_, port := peer(t, "tcp4", "127.0.0.1:0", writes(greeting))
	code, out, errOut, _ := runClient(t, "-count", "50", "-concurrency", "4", "127.0.0.1", port)
	assert.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 3, out)
	assert.Equal(t, fmt.Sprintf("--- 127.0.0.1:%s smile statistics ---", port), lines[0])
	assert.Regexp(t, `^50 probes: 50 ok, 0 failed in \d+\.\d{3}s \(\d+\.\d/s\)$`, lines[1])
	assert.Regexp(t, `^latency p50 \d+\.\d{3}ms p90 \d+\.\d{3}ms p99 \d+\.\d{3}ms max \d+\.\d{3}ms$`, lines[2])
	assert.NotContains(t, out, greeting, "probe mode prints a summary, not greetings")

	dead := closedPort(t)
	code, out, errOut, _ = runClient(t, "-count", "20", "-concurrency", "2", "127.0.0.1", dead)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "20 probes: 0 ok, 20 failed")
	assert.Contains(t, out, "failures: refused 20\n")
	assert.Equal(t, maxFailureLines, strings.Count(errOut, "\n"), "failure lines are capped")
}

func TestProbeInterval(t *testing.T) {
	_, port := peer(t, "tcp4", "127.0.0.1:0", writes(greeting))
	code, _, _, elapsed := runClient(t, "-count", "4", "-interval", "100ms", "127.0.0.1", port)
	assert.Equal(t, 0, code)
	assert.GreaterOrEqual(t, elapsed, 300*time.Millisecond, "3 pauses between 4 probes of one worker")
}

func TestJSONOutput(t *testing.T) {
	_, port := peer(t, "tcp4", "127.0.0.1:0", writes(greeting))
	dead := closedPort(t)
	for _, c := range []struct {
		port   string
		code   int
		ok     bool
		class  string
		greets bool
	}{{port, 0, true, "", true}, {dead, 1, false, "refused", false}} {
		code, out, _, _ := runClient(t, "-json", "-count", "3", "127.0.0.1", c.port)
		assert.Equal(t, c.code, code)
		dec := json.NewDecoder(strings.NewReader(out))
		for range 3 {
			var p map[string]any
			require.NoError(t, dec.Decode(&p))
			assert.Equal(t, "probe", p["type"])
			assert.EqualValues(t, 1, p["schema_version"])
			assert.Equal(t, "127.0.0.1:"+c.port, p["target"])
			assert.Equal(t, "127.0.0.1:"+c.port, p["address"])
			assert.Equal(t, "ipv4", p["family"])
			assert.Equal(t, c.ok, p["ok"])
			if c.greets {
				assert.Equal(t, greeting, p["greeting"])
				assert.EqualValues(t, 21, p["bytes"])
				assert.NotContains(t, p, "class")
			} else {
				assert.Equal(t, c.class, p["class"])
				assert.Equal(t, fmt.Sprintf("can't connect to 127.0.0.1:%s: refused", c.port), p["error"])
			}
			assert.Contains(t, p, "connect_ms")
			assert.Contains(t, p, "total_ms")
		}
		var s map[string]any
		require.NoError(t, dec.Decode(&s))
		assert.Equal(t, "summary", s["type"])
		assert.EqualValues(t, 1, s["schema_version"])
		assert.Equal(t, c.ok, s["ok"])
		assert.EqualValues(t, 3, s["probes"])
		if c.ok {
			assert.EqualValues(t, 3, s["ok_probes"])
		} else {
			assert.EqualValues(t, 3, s["failed_probes"])
			assert.NotContains(t, s, "p50_ms", "no latency without a successful probe")
			assert.Equal(t, map[string]any{"refused": float64(3)}, s["classes"])
		}
		assert.False(t, dec.More())
	}
}

// TestEach probes every address of a name with several loopback addresses,
// one of which has nothing listening.
func TestEach(t *testing.T) {
	_, port := peer(t, "tcp4", "127.0.0.1:0", writes(greeting))
	ln2, err := net.Listen("tcp4", "127.0.0.2:"+port)
	require.NoError(t, err)
	go func() {
		for {
			c, err := ln2.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(greeting))
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln2.Close() })
	dns := dnstest.Start(t)
	dns.AddHost("two.smile.test", "127.0.0.1", "127.0.0.2")
	dns.AddHost("three.smile.test", "127.0.0.1", "127.0.0.2", "127.0.0.3")

	code, out, errOut, _ := runClient(t, "-each", "-resolver", dns.Addr, "two.smile.test", port)
	assert.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 5, out)
	assert.Regexp(t, `^TARGET\s+VIA\s+ADDRESS\s+FAMILY\s+RESULT\s+PROBES\s+CONNECT\s+TOTAL$`, lines[0])
	assert.Regexp(t, `^127\.0\.0\.1:`+port+`\s+address\s+127\.0\.0\.1:`+port+`\s+IPv4\s+ok\s+1/1\s`, lines[1])
	assert.Regexp(t, `^127\.0\.0\.2:`+port+`\s+address\s+127\.0\.0\.2:`+port+`\s+IPv4\s+ok\s+1/1\s`, lines[2])
	assert.Regexp(t, `^two\.smile\.test:`+port+`\s+name\s+127\.0\.0\.[12]:`+port+`\s+IPv4\s+ok\s+1/1\s`, lines[3])
	assert.Equal(t, "3 targets: 3 ok, 0 failed", lines[4])

	code, out, errOut, _ = runClient(t, "-each", "-json", "-count", "2", "-resolver", dns.Addr, "three.smile.test", port)
	assert.Equal(t, 1, code)
	assert.Empty(t, errOut, "with -json the failures are in the objects, so stdout stays parseable")
	objs := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, objs, 5, out)
	var rows []EachRow
	for _, o := range objs[:4] {
		var r EachRow
		require.NoError(t, json.Unmarshal([]byte(o), &r))
		rows = append(rows, r)
	}
	assert.True(t, rows[0].OK)
	assert.True(t, rows[1].OK)
	assert.False(t, rows[2].OK)
	assert.Equal(t, "refused", rows[2].Class)
	assert.Equal(t, "127.0.0.3:"+port, rows[2].Address)
	assert.Equal(t, fmt.Sprintf("can't connect to 127.0.0.3:%s: refused", port), rows[2].Error)
	assert.Equal(t, 2, rows[2].Probes)
	assert.Equal(t, 0, rows[2].OKProbes)
	assert.Equal(t, 2, rows[2].FailedProbes)
	assert.Equal(t, "name", rows[3].Via)
	assert.True(t, rows[3].OK)
	assert.Equal(t, `{"schema_version":1,"type":"each_summary","target":"three.smile.test:`+port+`","ok":false,"targets":4,"ok_targets":3,"failed_targets":1}`, objs[4])
}
