package main

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
	"github.com/smile-sockets/smile/internal/smiletest/doccheck"
)

// TestLogSample runs the real smile-server on loopback, greets it from
// three peers (one /etc/hosts names, one the test's DNS server names, one
// nothing names), stops it, and holds the log sample of docs/usage.md to
// that run: the same lines in the same order, but for each line's time.
// The free port it listened on is written as 7890.
func TestLogSample(t *testing.T) {
	smiletest.RequireIPv6(t)
	dns := dnstest.Start(t)
	dns.AddPTR("127.0.0.2", "client-a.example.net")
	portN := smiletest.FreePort(t)
	port := strconv.Itoa(portN)
	p := smiletest.Start(t, smiletest.Build(t, "."), smiletest.Options{Ready: "SERVER started"},
		"-listen", ":"+port, "-resolver", dns.Addr)

	for i, from := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp4", "127.0.0.1:"+port)
		require.NoError(t, err, "from %s", from)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		b, err := io.ReadAll(c)
		require.NoError(t, err, "from %s", from)
		require.NoError(t, c.Close())
		assert.Equal(t, "Smile from the server", string(b), "from %s", from)
		// One line at a time, so that the log's order is the greetings'.
		require.Equal(t, i+1, p.Out.WaitCount("Connection received", i+1, 5*time.Second), "log:\n%s", p.Out)
	}
	// And a greeting over a datagram, from 127.0.0.4: the same line's twin.
	u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP("127.0.0.4")})
	require.NoError(t, err)
	defer u.Close()
	_, err = u.WriteToUDP(make([]byte, 64), &net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: portN})
	require.NoError(t, err)
	require.Equal(t, 1, p.Out.WaitCount("Datagram received", 1, 5*time.Second), "log:\n%s", p.Out)
	code, _ := p.Stop(t)
	require.Equal(t, 0, code, "stderr: %s", p.Err)

	out := strings.ReplaceAll(p.Out.String(), "port "+port+" ", "port 7890 ")
	out = strings.ReplaceAll(out, "]:"+port+",", "]:7890,")
	out = strings.ReplaceAll(out, "]:"+port+" (", "]:7890 (")
	doccheck.CheckSample(t, "../../docs/usage.md", "server-log", out, doccheck.Timestamps)
}
