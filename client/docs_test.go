package client

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/dnstest"
	"github.com/smile-sockets/smile/internal/smiletest"
)

// updateDocs rewrites the examples in docs/json.md from a run on ports
// 7890 and 7899, as the reader's commands use them:
//
//	go test ./client -run TestDocsJSONExamples -update-docs
var updateDocs = flag.Bool("update-docs", false, "rewrite docs/json.md's examples from a run on ports 7890 and 7899")

const docsJSON = "docs/json.md"

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

// TestDocsJSONExamples runs the commands of docs/json.md's examples against
// the real server and checks that the doc shows what they print, but for
// times (which differ in every run) and the ports (7890 and 7899 in the
// doc). With -update-docs it writes what they printed into the doc.
func TestDocsJSONExamples(t *testing.T) {
	if !smiletest.SupportsIPv6() {
		t.Skip("the examples need IPv6 loopback")
	}
	dns := dnstest.Start(t)
	dns.AddHost("dual.smile.test", "127.0.0.1", "::1")
	_, dnsPort, err := net.SplitHostPort(dns.Addr)
	require.NoError(t, err)
	dead := "7899"
	if !*updateDocs {
		dead = closedPort(t)
	}
	runs := []struct {
		v6       bool
		examples []docExample
	}{
		{true, []docExample{
			{"probe", "smile-client -json -count 2 127.0.0.1", []string{"-json", "-count", "2", "127.0.0.1", "PORT"}, false},
			{"refused", "smile-client -json 127.0.0.1 7899", []string{"-json", "127.0.0.1", "DEAD"}, false},
			{"each", "smile-client -each -json -resolver 127.0.0.1:5353 dual.smile.test", []string{"-each", "-json", "-resolver", "DNS", "dual.smile.test", "PORT"}, false},
		}},
		{false, []docExample{
			{"junit", "smile-client -each -json -junit report.xml -resolver 127.0.0.1:5353 dual.smile.test; cat report.xml",
				[]string{"-each", "-json", "-junit", "REPORT", "-resolver", "DNS", "dual.smile.test", "PORT"}, true},
		}},
	}
	got := map[string]string{}
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
				got[ex.name] = "$ " + ex.command + "\n" + out
			}
		})
	}
	root, err := smiletest.ModuleRoot()
	require.NoError(t, err)
	path := filepath.Join(root, docsJSON)
	doc, err := os.ReadFile(path)
	require.NoError(t, err)
	blocks := exampleBlock.FindAllStringSubmatchIndex(string(doc), -1)
	require.Len(t, blocks, len(got), "one generated block per example in %s", docsJSON)
	var b strings.Builder
	last := 0
	for _, m := range blocks {
		name, body := string(doc[m[2]:m[3]]), string(doc[m[4]:m[5]])
		want, ok := got[name]
		require.True(t, ok, "%s: no example %q", docsJSON, name)
		if !*updateDocs {
			assert.Equal(t, withoutTimes(want), withoutTimes(body), "%s: example %q; rewrite with -update-docs", docsJSON, name)
		}
		b.WriteString(string(doc[last:m[4]]) + want)
		last = m[5]
	}
	b.WriteString(string(doc[last:]))
	if *updateDocs {
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
}

// exampleBlock is a generated example in docs/json.md: its name and the
// console block's text.
var exampleBlock = regexp.MustCompile("(?s)<!-- example (\\w+), written by TestDocsJSONExamples -->\n```console\n(.*?)```")

// docServer is the real smile server on 127.0.0.1 and (with v6) ::1, on
// port 7890 when the doc is being rewritten.
func docServer(t *testing.T, v6 bool) string {
	t.Helper()
	if !*updateDocs {
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

// times are what differs from one run to the next: JSON milliseconds and
// rates, JUnit seconds and the start's timestamp.
var times = regexp.MustCompile(`("\w+_ms"|"rate_per_s"):[0-9.e+-]+|(time|timestamp)="[^"]*"`)

func withoutTimes(s string) string {
	return times.ReplaceAllStringFunc(s, func(m string) string {
		k, _, _ := strings.Cut(m, ":")
		if strings.HasSuffix(m, `"`) {
			k, _, _ = strings.Cut(m, "=")
		}
		return k + "=…"
	})
}
