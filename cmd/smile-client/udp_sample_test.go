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
	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
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
	runs := []sampleRun{
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
	transcript := run(t, bin, runs)
	out := regexp.MustCompile(`([: ])`+port+`\b`).ReplaceAllString(transcript, "${1}7890")
	out = regexp.MustCompile(`([: ])`+closed+`\b`).ReplaceAllString(out, "${1}7899")
	doccheck.CheckSample(t, "../../docs/datagrams.md", "udp-loopback", out, doccheck.MillisecondFields,
		doccheck.Rule{Re: regexp.MustCompile(`[0-9]+\.[0-9]+(ms|s)\b`), Repl: "N$1"})
}

// sampleRun is one command of a transcript and the exit code it must end
// with.
type sampleRun struct {
	args []string
	code int
}

// run runs each command of runs with bin, in an empty environment, and
// returns the transcript: the command, what it printed (stdout, then
// stderr) and its exit code when not 0.
func run(t *testing.T, bin string, runs []sampleRun) string {
	t.Helper()
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
	return transcript.String()
}

// TestUDPNameSample greets by a name of two addresses, ::1 and 127.0.0.1
// (::1 first in Go's order), a smile-server listening on 127.0.0.1 alone,
// and holds docs/datagrams.md's transcript to the run: ::1 refuses, the
// greeting comes from 127.0.0.1; a port nothing listens on is refused at
// both; a series stays with the first address. The test's ports are
// written as 7890 and 7899, its DNS server's as 127.0.0.1:5353.
func TestUDPNameSample(t *testing.T) {
	smiletest.RequireIPv6(t)
	dns := dnstest.Start(t)
	dns.AddHost("dual.smile.test", "127.0.0.1", "::1")
	bin := smiletest.Build(t, ".")
	port := strconv.Itoa(smiletest.FreePort(t))
	closed := strconv.Itoa(smiletest.FreePort(t))
	smiletest.Start(t, smiletest.Build(t, "../smile-server"), smiletest.Options{Ready: "SERVER answering datagrams"},
		"-listen", "127.0.0.1:"+port, "-resolve=false")
	name := []string{"-resolver", dns.Addr, "dual.smile.test"}
	transcript := run(t, bin, []sampleRun{
		{append(append([]string{"-udp"}, name...), port), 0},
		{append(append([]string{"-udp", "-json"}, name...), port), 0},
		{append(append([]string{"-udp"}, name...), closed), 1},
		{append(append([]string{"-udp", "-count", "5", "-read-timeout", "1s"}, name...), port), 1},
	})
	out := strings.ReplaceAll(transcript, dns.Addr, "127.0.0.1:5353")
	out = regexp.MustCompile(`([: ])`+port+`\b`).ReplaceAllString(out, "${1}7890")
	out = regexp.MustCompile(`([: ])`+closed+`\b`).ReplaceAllString(out, "${1}7899")
	doccheck.CheckSample(t, "../../docs/datagrams.md", "udp-name", out, doccheck.MillisecondFields,
		doccheck.Rule{Re: regexp.MustCompile(`[0-9]+\.[0-9]+(ms|s)\b`), Repl: "N$1"})
}
