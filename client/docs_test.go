package client

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/dnstest"
	"github.com/smile-sockets/smile/internal/smiletest/doccheck"
)

// rewriting is true when SMILE_UPDATE_DOCS=1 asks the doc samples to be
// rewritten from this run: then the server is on port 7890 and nothing on
// 7899, as the reader's commands have them.
//
//	SMILE_UPDATE_DOCS=1 go test ./client -run TestDocsJSONExamples
var rewriting = os.Getenv(doccheck.UpdateEnv) == "1"

// docExample is one example of docs/json.md: the command a reader types,
// and the arguments the test runs it with (PORT, DEAD, DNS and REPORT
// stand for the server's port, a port where nothing listens, the test's
// DNS server and the report's path). The doc shows the DNS server's port,
// which the test cannot choose, as 5353.
type docExample struct {
	name, command string
	args          []string
	report        bool // the output goes on with the -junit report
}

// TestDocsJSONExamples runs the commands of docs/json.md's samples against
// the real server and checks that the page shows what they print, but for
// times (which differ in every run); the ports are shown as 7890 and 7899
// and the test's DNS server's as 5353.
func TestDocsJSONExamples(t *testing.T) {
	if !smiletest.SupportsIPv6() {
		t.Skip("the examples need IPv6 loopback")
	}
	dns := dnstest.Start(t)
	dns.AddHost("dual.smile.test", "127.0.0.1", "::1")
	_, dnsPort, err := net.SplitHostPort(dns.Addr)
	require.NoError(t, err)
	dead := "7899"
	if !rewriting {
		dead = closedPort(t)
	}
	runs := []struct {
		v6       bool
		examples []docExample
	}{
		{true, []docExample{
			{"json-probe", "smile-client -json -count 2 127.0.0.1", []string{"-json", "-count", "2", "127.0.0.1", "PORT"}, false},
			{"json-refused", "smile-client -json 127.0.0.1 7899", []string{"-json", "127.0.0.1", "DEAD"}, false},
			{"json-each", "smile-client -each -json -resolver 127.0.0.1:5353 dual.smile.test", []string{"-each", "-json", "-resolver", "DNS", "dual.smile.test", "PORT"}, false},
		}},
		{false, []docExample{
			{"junit-each", "smile-client -each -json -junit report.xml -resolver 127.0.0.1:5353 dual.smile.test; cat report.xml",
				[]string{"-each", "-json", "-junit", "REPORT", "-resolver", "DNS", "dual.smile.test", "PORT"}, true},
		}},
	}
	for _, r := range runs {
		t.Run(fmt.Sprintf("v6=%v", r.v6), func(t *testing.T) {
			port := docServer(t, r.v6)
			for _, ex := range r.examples {
				report := filepath.Join(t.TempDir(), "report.xml")
				args := make([]string, len(ex.args))
				for i, a := range ex.args {
					args[i] = strings.NewReplacer("PORT", port, "DEAD", dead, "DNS", dns.Addr, "REPORT", report).Replace(a)
				}
				_, out, errOut, _ := runClient(t, args...)
				require.Empty(t, errOut)
				smiletest.JSONLines(t, out)
				if ex.report {
					b, err := os.ReadFile(report)
					require.NoError(t, err)
					out += string(b)
				}
				out = withPort(withPort(withPort(out, port, "7890"), dead, "7899"), dnsPort, "5353")
				doccheck.CheckSample(t, "../docs/json.md", ex.name, "$ "+ex.command+"\n"+out,
					doccheck.MillisecondFields, rates, junitTimes)
			}
		})
	}
}

// rates and junitTimes differ in every run: probes per second, and the
// JUnit report's seconds and start.
var (
	rates      = doccheck.Rule{Re: regexp.MustCompile(`("rate_per_s"):[0-9.e+-]+`), Repl: `$1:N`}
	junitTimes = doccheck.Rule{Re: regexp.MustCompile(`\b(time|timestamp)="[^"]*"`), Repl: `$1="N"`}
)

// docServer is a tutorial greeter on 127.0.0.1 and (with v6) ::1, on
// port 7890 when the doc is being rewritten.
func docServer(t *testing.T, v6 bool) string {
	t.Helper()
	if !rewriting {
		return smileServer(t, v6)
	}
	ln4, err := net.Listen("tcp4", "127.0.0.1:7890")
	require.NoError(t, err)
	lns := []net.Listener{ln4}
	if v6 {
		ln6, err := net.Listen("tcp6", "[::1]:7890")
		require.NoError(t, err)
		lns = append(lns, ln6)
	}
	serveOn(t, lns...)
	return "7890"
}

// withPort writes port as shown in an address (host:port, [v6]:port).
func withPort(s, port, shown string) string {
	return regexp.MustCompile(`([\w\]]):`+port+`\b`).ReplaceAllString(s, "${1}:"+shown)
}
