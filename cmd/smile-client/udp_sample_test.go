package main

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/doccheck"
)

// TestUDPSample runs the real smile-client over datagrams against the real
// smile-server on loopback (and a port nothing listens on) and holds the
// transcript in docs/datagrams.md to that run: each command, its exit
// code, and what it printed, with the test's ports written as 7890 and
// 7899 and times, which differ in every run, as N.
func TestUDPSample(t *testing.T) {
	smiletest.RequireIPv6(t)
	bin := smiletest.Build(t, ".")
	port := strconv.Itoa(smiletest.FreePort(t))
	closed := strconv.Itoa(smiletest.FreePort(t))
	smiletest.Start(t, smiletest.Build(t, "../smile-server"), smiletest.Options{Ready: "SERVER answering datagrams"},
		"-listen", ":"+port, "-resolve=false")
	runs := []struct {
		args []string
		code int
	}{
		{[]string{"-udp", "127.0.0.1", port}, 0},
		{[]string{"-udp", "::1", port}, 0},
		{[]string{"-udp", "-count", "100", "127.0.0.1", port}, 0},
		{[]string{"-udp", "-json", "-count", "10", "::1", port}, 0},
		{[]string{"-pmtu", "127.0.0.1", port}, 0},
		{[]string{"-pmtu", "-json", "::1", port}, 0},
		{[]string{"-udp", "127.0.0.1", closed}, 1},
		{[]string{"-udp", "-size", "20", "-read-timeout", "1s", "127.0.0.1", port}, 1},
		{[]string{"-pmtu", "-count", "3", "127.0.0.1", port}, 2},
	}
	var transcript strings.Builder
	for _, r := range runs {
		cmd := exec.Command(bin, r.args...)
		cmd.Env = []string{}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else {
			require.NoError(t, err)
		}
		assert.Equal(t, r.code, code, "%v: %s", r.args, stderr.String())
		fmt.Fprintf(&transcript, "$ smile-client %s\n%s%s", strings.Join(r.args, " "), stdout.String(), stderr.String())
		if code != 0 {
			fmt.Fprintf(&transcript, "(exit %d)\n", code)
		}
	}
	out := regexp.MustCompile(`([: ])`+port+`\b`).ReplaceAllString(transcript.String(), "${1}7890")
	out = regexp.MustCompile(`([: ])`+closed+`\b`).ReplaceAllString(out, "${1}7899")
	doccheck.CheckSample(t, "../../docs/datagrams.md", "udp-loopback", out, doccheck.MillisecondFields,
		doccheck.Rule{Re: regexp.MustCompile(`[0-9]+\.[0-9]+(ms|s)\b`), Repl: "N$1"})
}
