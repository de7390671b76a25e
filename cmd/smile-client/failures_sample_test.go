package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"regexp"
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

// serveEach runs a loopback server that hands every connection to handle
// until the test ends, and returns its port.
func serveEach(t *testing.T, handle func(*net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c.(*net.TCPConn))
		}
	}()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestFailureSample runs the real smile-client against loopback servers
// that fail in each way a loopback can show (nothing listening, no such
// name, a server that never writes, closes at once, resets, sends too
// much or sends something else) and holds the transcript in docs/usage.md
// to that run: each command and exactly what it printed on stderr, with
// every port the test chose written as 7890.
func TestFailureSample(t *testing.T) {
	smiletest.RequireIPv6(t)
	bin := smiletest.Build(t, ".")
	dns := dnstest.Start(t)
	closed := strconv.Itoa(smiletest.FreePort(t)) // nothing listens here
	dns.AddHost("one.test", "127.0.0.1")
	dns.AddHost("smile.test", "127.0.0.1", "::1")

	silent := serveEach(t, func(c *net.TCPConn) {
		time.Sleep(3 * time.Second)
		_ = c.Close()
	})
	empty := serveEach(t, func(c *net.TCPConn) { _ = c.Close() })
	reset := serveEach(t, func(c *net.TCPConn) {
		// After the client's connect has surely returned: a reset racing
		// the connect's own completion may be reported by either call.
		time.Sleep(200 * time.Millisecond)
		_ = c.SetLinger(0)
		_ = c.Close()
	})
	flood := serveEach(t, func(c *net.TCPConn) {
		_, _ = c.Write(bytes.Repeat([]byte("x"), 70000))
		_ = c.Close()
	})
	other := serveEach(t, func(c *net.TCPConn) {
		_, _ = c.Write([]byte("Hello"))
		_ = c.Close()
	})

	runs := [][]string{
		{"127.0.0.1", closed},
		{"-resolver", dns.Addr, "one.test", closed},
		{"-resolver", dns.Addr, "smile.test", closed},
		{"-resolver", dns.Addr, "no-such-host.invalid"},
		{"-read-timeout", "1s", "127.0.0.1", silent},
		{"127.0.0.1", empty},
		{"127.0.0.1", reset},
		{"127.0.0.1", flood},
		{"-expect", "Smile from the server", "127.0.0.1", other},
	}
	var transcript strings.Builder
	for _, args := range runs {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit), "%v: %v", args, err)
		assert.Equal(t, 1, exit.ExitCode(), "%v", args)
		assert.Empty(t, stdout.String(), "%v", args)
		shown := make([]string, len(args))
		for i, a := range args {
			shown[i] = a
			if strings.Contains(a, " ") {
				shown[i] = "'" + a + "'"
			}
		}
		fmt.Fprintf(&transcript, "$ smile-client %s\n%s", strings.Join(shown, " "), stderr.String())
	}
	out := transcript.String()
	for _, p := range []string{closed, silent, empty, reset, flood, other} {
		out = regexp.MustCompile(`([: ])`+p+`\b`).ReplaceAllString(out, "${1}7890")
	}
	out = strings.ReplaceAll(out, dns.Addr, "127.0.0.1:53")
	doccheck.CheckSample(t, "../../docs/usage.md", "client-failures", out)
}
