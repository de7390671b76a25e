package client

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// closedUDPPort is a UDP port on addr that nothing listens on: bound,
// then closed.
func closedUDPPort(t *testing.T, network, addr string) string {
	t.Helper()
	pc, err := net.ListenPacket(network, net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Skipf("no %s here: %v", network, err)
	}
	port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	require.NoError(t, pc.Close())
	return port
}

// TestUDPGreeting runs the real client over datagrams against a
// responder that answers as smile-server does, and against a closed port
// and one that answers nothing shorter than its greeting.
func TestUDPGreeting(t *testing.T) {
	for _, f := range []struct{ network, host, listen string }{
		{"udp4", "127.0.0.1", "127.0.0.1:0"},
		{"udp6", "::1", "[::1]:0"},
	} {
		t.Run(f.network, func(t *testing.T) {
			port := strconv.Itoa(int(smiletest.UDPResponder(t, f.network, f.listen, greeting, false).Port()))
			closed := closedUDPPort(t, f.network, strings.Trim(f.listen[:strings.LastIndex(f.listen, ":")], "[]"))
			where := net.JoinHostPort(f.host, port)
			for _, c := range []struct {
				name      string
				args      []string
				code      int
				out, errs string
			}{
				{"greeting", []string{"-udp", f.host, port}, 0, greeting + "\n", ""},
				{"expect", []string{"-udp", "-expect", greeting, f.host, port}, 0, greeting + "\n", ""},
				{"mismatch", []string{"-udp", "-expect", "Frown from the server", f.host, port}, 1, "",
					`smile-client: unexpected greeting over UDP from ` + where + `: mismatch: got "Smile from the server", want "Frown from the server"` + "\n"},
				{"request shorter than the greeting", []string{"-udp", "-size", "20", "-read-timeout", "300ms", f.host, port}, 1, "",
					"smile-client: no answer over UDP from " + where + ": timeout: nothing came back within 300ms (-read-timeout)\n"},
				{"closed port", []string{"-udp", f.host, closed}, 1, "",
					"smile-client: no answer over UDP from " + net.JoinHostPort(f.host, closed) + ": refused: port unreachable, reported by " + f.host + " (the server itself)\n"},
			} {
				t.Run(c.name, func(t *testing.T) {
					code, out, errs, _ := runClient(t, c.args...)
					assert.Equal(t, c.code, code)
					assert.Equal(t, c.out, out)
					assert.Equal(t, c.errs, errs)
				})
			}
		})
	}
}

// TestUDPSeries: every probe of a series on loopback is answered once,
// in order, with no router between.
func TestUDPSeries(t *testing.T) {
	port := strconv.Itoa(int(smiletest.UDPResponder(t, "udp4", "127.0.0.1:0", greeting, false).Port()))
	code, out, errs, _ := runClient(t, "-udp", "-count", "50", "127.0.0.1", port)
	require.Equal(t, 0, code, errs)
	lines := strings.Split(out, "\n")
	require.Len(t, lines, 5, out)
	assert.Equal(t, "--- 127.0.0.1:"+port+" smile datagram statistics ---", lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "50 sent, 50 received, 0.0% loss, 0 duplicates, 0 reordered in "), lines[1])
	assert.True(t, strings.HasPrefix(lines[2], "rtt p50 "), lines[2])
	assert.Equal(t, "hops 0 (ttl 64)", lines[3])

	code, out, _, _ = runClient(t, "-udp", "-count", "20", "-json", "127.0.0.1", port)
	require.Equal(t, 0, code)
	var d Datagrams
	require.NoError(t, json.Unmarshal([]byte(out), &d))
	require.NotNil(t, d.Loss)
	require.NotNil(t, d.Hops)
	assert.Equal(t, Loss{Sent: 20, Received: 20, RTTP50MS: d.RTTP50MS, RTTP90MS: d.RTTP90MS, RTTP99MS: d.RTTP99MS, RTTMaxMS: d.RTTMaxMS}, *d.Loss)
	assert.Positive(t, d.RTTP50MS)
	assert.Equal(t, 0, *d.Hops)
	assert.True(t, d.OK)
}

// udpDual answers datagrams as smile-server does on 127.0.0.1 and [::1]
// at one port, and returns it.
func udpDual(t *testing.T) string {
	t.Helper()
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp6", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
		require.NoError(t, pc.Close())
		if p4, err := net.ListenPacket("udp4", "127.0.0.1:"+port); err == nil {
			require.NoError(t, p4.Close())
			smiletest.UDPResponder(t, "udp6", "[::1]:"+port, greeting, false)
			smiletest.UDPResponder(t, "udp4", "127.0.0.1:"+port, greeting, false)
			return port
		}
		require.Less(t, attempt, 5, "no port free on both loopbacks")
	}
}

// TestUDPGreetingFallsBack: a greeting by a name with two addresses
// (::1 first, then 127.0.0.1, dualName) tries the second when the first
// reports port unreachable, at once, or has been silent for the fallback
// delay, and names the address that answered; a series (-count) stays
// with the first address.
func TestUDPGreetingFallsBack(t *testing.T) {
	name, dns := dualName(t)
	answering := strconv.Itoa(int(smiletest.UDPResponder(t, "udp4", "127.0.0.1:0", greeting, false).Port()))
	if pc, err := net.ListenPacket("udp6", "[::1]:"+answering); err == nil {
		require.NoError(t, pc.Close()) // nothing on [::1] at this port: it refuses
	} else {
		t.Skipf("[::1]:%s is taken: %v", answering, err)
	}
	silent, err := net.ListenPacket("udp6", "[::1]:0") // reads nothing, answers nothing
	require.NoError(t, err)
	t.Cleanup(func() { _ = silent.Close() })
	quiet := strconv.Itoa(silent.LocalAddr().(*net.UDPAddr).Port)
	if pc, err := net.ListenPacket("udp4", "127.0.0.1:"+quiet); err == nil {
		require.NoError(t, pc.Close())
		smiletest.UDPResponder(t, "udp4", "127.0.0.1:"+quiet, greeting, false)
	} else {
		t.Skipf("127.0.0.1:%s is taken: %v", quiet, err)
	}
	refusing := closedUDPPort(t, "udp4", "127.0.0.1")

	for _, c := range []struct {
		name     string
		port     string
		args     []string
		code     int
		out      string // what stdout begins with
		errs     string
		address  string   // -json's address, "" for none
		outcomes []string // -json's attempts, in order
		within   [2]time.Duration
		verbose  []string // what -v says, in order
	}{
		{name: "first refuses, second answers", port: answering, code: 0, out: greeting + "\n",
			address: "127.0.0.1:" + answering, outcomes: []string{"refused", "answered"}, within: [2]time.Duration{0, fallbackDelay},
			verbose: []string{"sending to [::1]:" + answering + " over IPv6", "[::1]:" + answering + ": refused: port unreachable, reported by ::1 (the server itself)",
				"sending to 127.0.0.1:" + answering + " over IPv4", "answer from 127.0.0.1:" + answering + " over IPv4"}},
		{name: "first silent, second answers after the fallback delay", port: quiet, code: 0, out: greeting + "\n",
			address: "127.0.0.1:" + quiet, outcomes: []string{"abandoned", "answered"}, within: [2]time.Duration{fallbackDelay, 2 * fallbackDelay},
			verbose: []string{"sending to [::1]:" + quiet + " over IPv6",
				"no answer from [::1]:" + quiet + " after 300ms: also sending to the next address (fallback)",
				"sending to 127.0.0.1:" + quiet + " over IPv4", "answer from 127.0.0.1:" + quiet + " over IPv4",
				"abandoning [::1]:" + quiet + ": 127.0.0.1:" + quiet + " answered first"}},
		{name: "both refuse", port: refusing, code: 1,
			errs:     fmt.Sprintf("smile-client: no answer over UDP from %s:%s: [::1]:%s refused, 127.0.0.1:%s refused\n", name, refusing, refusing, refusing),
			outcomes: []string{"refused", "refused"}, within: [2]time.Duration{0, fallbackDelay}},
		{name: "a series stays with the first address", port: answering, args: []string{"-count", "5"}, code: 1,
			out:     fmt.Sprintf("--- %s:%s smile datagram statistics ---\n5 sent, 0 received, 100.0%% loss, 0 duplicates, 0 reordered in ", name, answering),
			errs:    fmt.Sprintf("smile-client: no answer over UDP from %s:%s ([::1]:%s): refused: port unreachable, reported by ::1 (the server itself)\n", name, answering, answering),
			address: "[::1]:" + answering, within: [2]time.Duration{time.Second, 2 * time.Second}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{"-udp", "-resolver", dns, "-read-timeout", "1s"}, c.args...), name, c.port)
			code, out, errs, elapsed := runClient(t, args...)
			assert.Equal(t, c.code, code)
			assert.True(t, strings.HasPrefix(out, c.out), "stdout %q, want it to begin with %q", out, c.out)
			assert.Equal(t, c.errs, errs)
			assert.GreaterOrEqual(t, elapsed, c.within[0])
			assert.Less(t, elapsed, c.within[1])

			code, out, _, _ = runClient(t, append([]string{"-json"}, args...)...)
			assert.Equal(t, c.code, code)
			var d Datagrams
			require.NoError(t, json.Unmarshal([]byte(out), &d), out)
			assert.Equal(t, c.address, d.Address)
			var outcomes []string
			for _, a := range d.Attempts {
				outcomes = append(outcomes, a.Outcome)
			}
			assert.Equal(t, c.outcomes, outcomes)
			if len(d.Attempts) == 2 {
				assert.Equal(t, "[::1]:"+c.port, d.Attempts[0].Address)
				assert.Equal(t, "127.0.0.1:"+c.port, d.Attempts[1].Address)
			}
			if c.verbose == nil {
				return
			}
			_, _, errs, _ = runClient(t, append([]string{"-v"}, args...)...)
			var said []string
			for line := range strings.Lines(errs) {
				if _, what, ok := strings.Cut(strings.TrimSpace(line), "ms "); ok && !strings.HasPrefix(what, "resolved ") {
					said = append(said, what)
				}
			}
			assert.Equal(t, c.verbose, said, errs)
		})
	}
}
