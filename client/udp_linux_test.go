package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
	"github.com/smile-sockets/smile/internal/smiletest/doccheck"
	"github.com/smile-sockets/smile/internal/smiletest/matrix"
)

// TestUDPAcrossARouter runs the real client in namespaces of the test's
// own (smiletest.NarrowPath: a router in front of a 1,280-byte link): the
// path MTU with the router named, the same with its too-big messages
// dropped (a black hole), and an address the router has no route to.
func TestUDPAcrossARouter(t *testing.T) {
	var sample strings.Builder
	for _, c := range []struct {
		name       string
		dropTooBig bool
		args       []string
		code       int
		out, errs  string
	}{
		{"pmtu ipv4", false, []string{"-pmtu", "10.28.2.2", "7890"}, 0,
			"--- 10.28.2.2:7890 smile path MTU ---\npath MTU 1280 over IPv4 (interface MTU 1500): too big reported by 10.28.1.1 (MTU 1280)\n", ""},
		{"pmtu ipv6", false, []string{"-pmtu", "fd28:2::2", "7890"}, 0,
			"--- [fd28:2::2]:7890 smile path MTU ---\npath MTU 1280 over IPv6 (interface MTU 1500): too big reported by fd28:1::1 (MTU 1280)\n", ""},
		{"black hole ipv4", true, []string{"-pmtu", "10.28.2.2", "7890"}, 1,
			"--- 10.28.2.2:7890 smile path MTU ---\npath MTU 1280 over IPv4 (interface MTU 1500): black hole: 1281-byte datagrams lost with no ICMP; 1280 cross\n",
			"smile-client: path MTU to 10.28.2.2:7890: black hole: 1281-byte datagrams lost with no ICMP; 1280 cross\n"},
		{"black hole ipv6", true, []string{"-pmtu", "fd28:2::2", "7890"}, 1,
			"--- [fd28:2::2]:7890 smile path MTU ---\npath MTU 1280 over IPv6 (interface MTU 1500): black hole: 1281-byte datagrams lost with no ICMP; 1280 cross\n",
			"smile-client: path MTU to [fd28:2::2]:7890: black hole: 1281-byte datagrams lost with no ICMP; 1280 cross\n"},
		{"no route at the router ipv4", false, []string{"-udp", "10.28.3.3", "7890"}, 1, "",
			"smile-client: no answer over UDP from 10.28.3.3:7890: unreachable: network unreachable, reported by 10.28.1.1 (on the way)\n"},
		{"no route at the router ipv6", false, []string{"-udp", "fd28:3::3", "7890"}, 1, "",
			"smile-client: no answer over UDP from [fd28:3::3]:7890: unreachable: network unreachable, reported by fd28:1::1 (on the way)\n"},
		{"greeting across the router", false, []string{"-udp", "-count", "1", "10.28.2.2", "7890"}, 0, greeting + "\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cli, _, srv := smiletest.NarrowPath(t, c.dropTooBig)
			srv.Do(t, func() {
				smiletest.UDPResponder(t, "udp4", "10.28.2.2:7890", greeting, false)
				smiletest.UDPResponder(t, "udp6", "[fd28:2::2]:7890", greeting, false)
			})
			var code int
			var out, errs string
			cli.Do(t, func() { code, out, errs, _ = runClient(t, c.args...) })
			assert.Equal(t, c.code, code)
			assert.Equal(t, c.out, out)
			assert.Equal(t, c.errs, errs)
			if c.dropTooBig && !strings.Contains(sample.String(), "# the router") {
				sample.WriteString("# the router now drops its own too-big messages (nft)\n")
			}
			sample.WriteString("$ smile-client " + strings.Join(c.args, " ") + "\n" + out + errs)
		})
	}
	if !t.Failed() && !t.Skipped() {
		doccheck.CheckSample(t, "../docs/datagrams.md", "udp-router", sample.String())
	}
}

// TestUDPHopsAcrossARouter: answers that crossed the router arrive with
// TTL (hop limit) 63: one hop.
func TestUDPHopsAcrossARouter(t *testing.T) {
	cli, _, srv := smiletest.NarrowPath(t, false)
	srv.Do(t, func() {
		smiletest.UDPResponder(t, "udp4", "10.28.2.2:7890", greeting, false)
		smiletest.UDPResponder(t, "udp6", "[fd28:2::2]:7890", greeting, false)
	})
	for _, host := range []string{"10.28.2.2", "fd28:2::2"} {
		var code int
		var out string
		cli.Do(t, func() { code, out, _, _ = runClient(t, "-udp", "-count", "10", "-interval", "1ms", host, "7890") })
		assert.Equal(t, 0, code)
		assert.Contains(t, out, "\n10 sent, 10 received, 0.0% loss, 0 duplicates, 0 reordered in ")
		assert.Contains(t, out, "\nhops 1 (ttl 63)\n")
	}
}

// TestUDPLossAtTheRouter drops each probe on its way to the server at the
// router, at random (nft numgen random), and holds the reported loss to
// the rate set; the answers' way back is not touched, so every loss is
// the router's.
func TestUDPLossAtTheRouter(t *testing.T) {
	page, err := os.ReadFile("../docs/datagrams.md")
	require.NoError(t, err)
	rows, err := matrix.DocTable(string(page), "| loss set |")
	require.NoError(t, err)
	require.Len(t, rows, len(matrix.LossRows))
	cli, rtr, srv := smiletest.NarrowPath(t, false)
	srv.Do(t, func() { smiletest.UDPResponder(t, "udp4", "10.28.2.2:7890", greeting, false) })
	for i, r := range matrix.LossRows {
		p := float64(r.Percent) / 100
		tol := matrix.LossTolerance(p, r.Count)
		assert.Equal(t, []string{fmt.Sprintf("%d %%", r.Percent), strconv.Itoa(r.Count), fmt.Sprintf("± %.3f", tol)}, rows[i][:3], "docs row %d", i)
		rtr.Nft(t, fmt.Sprintf(`flush ruleset
table inet loss {
	chain lossy {
		type filter hook forward priority 0;
		ip daddr 10.28.2.2 udp dport 7890 numgen random mod 100 < %d drop
	}
}
`, r.Percent))
		var code int
		var out string
		cli.Do(t, func() {
			code, out, _, _ = runClient(t, "-udp", "-json", "-count", strconv.Itoa(r.Count), "-read-timeout", "1s", "10.28.2.2", "7890")
		})
		require.Equal(t, 0, code, out)
		var d Datagrams
		require.NoError(t, json.Unmarshal([]byte(out), &d))
		require.NotNil(t, d.Loss)
		t.Logf("FIGURES loss set %d%%, %d sent: reported %.4f (tolerance ±%.3f), duplicates %d, reordered %d",
			r.Percent, r.Count, d.LossRatio, tol, d.Duplicates, d.Reordered)
		assert.InDelta(t, p, d.LossRatio, tol, "loss set %d%%", r.Percent)
		assert.Equal(t, r.Count, d.Sent)
		assert.Zero(t, d.Duplicates)
	}
}

// TestUDPFallsBackPastAnUnreachable: a name whose first address the
// router has no route to (10.28.3.3: ICMP network unreachable from
// 10.28.1.1) and whose second answers (10.28.2.2) greets from the second,
// the router named in -v's account of the first, and -json names both.
// The client is a process in the client's namespace, as is the test's DNS
// server: the addresses of a name are tried on goroutines of their own,
// which a thread locked into a namespace (Netns.Do) does not hold.
func TestUDPFallsBackPastAnUnreachable(t *testing.T) {
	cli, _, srv := smiletest.NarrowPath(t, false)
	srv.Do(t, func() { smiletest.UDPResponder(t, "udp4", "10.28.2.2:7890", greeting, false) })
	var dns *dnstest.Server
	cli.Do(t, func() { dns = dnstest.Start(t) })
	dns.AddHost("far.smile.test", "10.28.3.3", "10.28.2.2")
	bin := smiletest.Build(t, "../cmd/smile-client")
	run := func(flag string) (code int, stdout, stderr string) {
		t.Helper()
		cmd := exec.Command("ip", "netns", "exec", cli.Name, bin, "-udp", flag, "-resolver", dns.Addr, "far.smile.test", "7890")
		cmd.Env = []string{}
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), out.String(), errb.String()
		}
		require.NoError(t, err)
		return 0, out.String(), errb.String()
	}

	code, out, errs := run("-v")
	assert.Equal(t, 0, code, errs)
	assert.Equal(t, greeting+"\n", out)
	assert.Contains(t, errs, "ms 10.28.3.3:7890: unreachable: network unreachable, reported by 10.28.1.1 (on the way)\n")
	assert.Contains(t, errs, "ms answer from 10.28.2.2:7890 over IPv4\n")

	code, out, errs = run("-json")
	assert.Equal(t, 0, code, errs)
	var d Datagrams
	require.NoError(t, json.Unmarshal([]byte(out), &d), out)
	assert.Equal(t, "10.28.2.2:7890", d.Address)
	require.Len(t, d.Attempts, 2, out)
	assert.Equal(t, []string{"10.28.3.3:7890", "unreachable", "10.28.2.2:7890", "answered"},
		[]string{d.Attempts[0].Address, d.Attempts[0].Outcome, d.Attempts[1].Address, d.Attempts[1].Outcome})
}
