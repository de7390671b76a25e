package client

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/nettest"

	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
)

// dualName serves a name with an IPv4 and an IPv6 loopback address from a
// resolver of the test's own; Go's resolver sorts ::1 first (RFC 6724
// prefers the smaller scope). It skips without IPv6 loopback.
func dualName(t *testing.T) (name, resolver string) {
	t.Helper()
	if !nettest.SupportsIPv6() {
		t.Skip("no IPv6 loopback")
	}
	dns := dnstest.Start(t)
	dns.AddHost("dual.smile.test", "127.0.0.1", "::1")
	return "dual.smile.test", dns.Addr
}

// TestFallsBackToTheOtherFamily: the IPv6 address of a name swallows the
// SYN, the IPv4 one greets; the client starts IPv4 after the fallback
// delay and says so with -v, and -json records both attempts.
func TestFallsBackToTheOtherFamily(t *testing.T) {
	name, dns := dualName(t)
	port := stalled(t, "0")
	_, _ = peer(t, "tcp4", "127.0.0.1:"+port, writes(greeting))

	code, out, errOut, elapsed := runClient(t, "-v", "-resolver", dns, "-timeout", "3s", name, port)
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, greeting+"\n", out)
	assert.GreaterOrEqual(t, elapsed, fallbackDelay)
	assert.Less(t, elapsed, 2*time.Second, "the fallback, not the timeout")
	assert.Regexp(t, `resolved dual\.smile\.test to ::1, 127\.0\.0\.1\n`, errOut)
	// The fallback starts 300 ms after the first dial, by the client's
	// own clock (the first dial's start varies: an emulated run resolves
	// slowly).
	v6 := regexp.MustCompile(`\+(\d+\.\d)ms dialling \[::1\]:` + port + ` over IPv6\n`).FindStringSubmatch(errOut)
	fallback := regexp.MustCompile(`\+(\d+\.\d)ms no answer from \[::1\]:` + port + ` after 300ms: also dialling the next address \(fallback\)\n`).FindStringSubmatch(errOut)
	require.Len(t, v6, 2, errOut)
	require.Len(t, fallback, 2, errOut)
	gap := msSince(t, v6[1], fallback[1])
	assert.GreaterOrEqual(t, gap, 300.0, "the fallback waits 300ms")
	assert.Less(t, gap, 400.0, "the fallback starts on time")
	assert.Regexp(t, `dialling 127\.0\.0\.1:`+port+` over IPv4\n.*connected to 127\.0\.0\.1:`+port+` over IPv4\n`, errOut)
	assert.Regexp(t, `abandoning \[::1\]:`+port+`: 127\.0\.0\.1:`+port+` connected first\n`, errOut)

	code, out, _, _ = runClient(t, "-json", "-resolver", dns, "-timeout", "3s", name, port)
	assert.Equal(t, 0, code)
	var p Probe
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &p))
	require.Len(t, p.Attempts, 2, out)
	assert.Equal(t, "[::1]:"+port, p.Attempts[0].Address)
	assert.Equal(t, "abandoned", p.Attempts[0].Outcome)
	assert.Equal(t, "127.0.0.1:"+port, p.Attempts[1].Address)
	assert.Equal(t, "connected", p.Attempts[1].Outcome)
	assert.GreaterOrEqual(t, p.Attempts[1].StartMS, 300.0)
}

// TestEveryAddressNamed: when every address of a name fails, the message
// and -json name each with its own class, and both families dropped cost
// one -timeout, not one per address.
func TestEveryAddressNamed(t *testing.T) {
	name, dns := dualName(t)
	t.Run("timeout and refused", func(t *testing.T) {
		port := stalled(t, "0")
		code, _, errOut, elapsed := runClient(t, "-resolver", dns, "-timeout", "1s", name, port)
		assert.Equal(t, 1, code)
		assert.Equal(t, fmt.Sprintf("smile-client: can't connect to %s:%s: [::1]:%s timeout, 127.0.0.1:%s refused\n", name, port, port, port), errOut)
		assert.GreaterOrEqual(t, elapsed, time.Second)
		assert.Less(t, elapsed, 1800*time.Millisecond, "one -timeout for every address")

		code, out, _, _ := runClient(t, "-json", "-resolver", dns, "-timeout", "1s", name, port)
		assert.Equal(t, 1, code)
		var p Probe
		require.NoError(t, json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &p))
		assert.Equal(t, "timeout", p.Class, "the class of the first address tried")
		assert.Equal(t, "connect", p.Stage)
		require.Len(t, p.Attempts, 2, out)
		assert.Equal(t, "timeout", p.Attempts[0].Outcome)
		assert.Equal(t, "refused", p.Attempts[1].Outcome)
	})
	t.Run("refused twice", func(t *testing.T) {
		port := closedPort(t)
		code, _, errOut, elapsed := runClient(t, "-resolver", dns, "-timeout", "1s", name, port)
		assert.Equal(t, 1, code)
		assert.Equal(t, fmt.Sprintf("smile-client: can't connect to %s:%s: [::1]:%s refused, 127.0.0.1:%s refused\n", name, port, port, port), errOut)
		assert.Less(t, elapsed, 500*time.Millisecond, "a refusal starts the next address at once")
	})
}

// TestEmptyAnswerFails: a server that accepts and closes without a byte
// (a proxy with a dead backend) is a failure of class empty in every mode.
func TestEmptyAnswerFails(t *testing.T) {
	_, port := peer(t, "tcp4", "127.0.0.1:0", func(net.Conn) {})
	code, out, errOut, _ := runClient(t, "127.0.0.1", port)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, fmt.Sprintf("smile-client: connected to 127.0.0.1:%s, but no greeting: empty: the server closed the connection without sending a byte\n", port), errOut)

	code, out, _, _ = runClient(t, "-count", "3", "127.0.0.1", port)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "3 probes: 0 ok, 3 failed")
	assert.Contains(t, out, "failures: empty 3\n")

	code, out, _, _ = runClient(t, "-json", "127.0.0.1", port)
	assert.Equal(t, 1, code)
	var p Probe
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &p))
	assert.False(t, p.OK)
	assert.Equal(t, "empty", p.Class)
	assert.Equal(t, "read", p.Stage)
	assert.Zero(t, p.Bytes)

	code, out, _, _ = runClient(t, "-each", "-json", "127.0.0.1", port)
	assert.Equal(t, 1, code)
	var row EachRow
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &row))
	assert.False(t, row.OK)
	assert.Equal(t, "empty", row.Class)
}

// msSince is the time in ms from one -v offset ("12.5") to another.
func msSince(t *testing.T, from, to string) float64 {
	t.Helper()
	a, err := strconv.ParseFloat(from, 64)
	require.NoError(t, err)
	b, err := strconv.ParseFloat(to, 64)
	require.NoError(t, err)
	return b - a
}
