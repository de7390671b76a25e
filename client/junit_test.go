package client

import (
	"encoding/xml"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// junitXSD is the JUnit schema CI systems read (client/testdata/README.md).
const junitXSD = "testdata/junit-10.xsd"

// junitCaseSeen is one <testcase> as a CI system reads it.
type junitCaseSeen struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	Time      string `xml:"time,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
}

// readJUnit validates the report at path against the JUnit schema with
// xmllint and returns its suite's name, counts and test cases.
func readJUnit(t *testing.T, path string) (suite string, tests, failures int, cases []junitCaseSeen) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("xmllint not found: install libxml2-utils")
		}
		t.Skip("xmllint not found: apt-get install libxml2-utils")
	}
	out, err := exec.Command(xmllint, "--noout", "--schema", junitXSD, path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc struct {
		Suites []struct {
			Name     string          `xml:"name,attr"`
			Tests    int             `xml:"tests,attr"`
			Failures int             `xml:"failures,attr"`
			Cases    []junitCaseSeen `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(b, &doc), "%s", b)
	require.Len(t, doc.Suites, 1, "%s", b)
	s := doc.Suites[0]
	return s.Name, s.Tests, s.Failures, s.Cases
}

// junitTime is a JUnit time as -junit writes it: seconds to the
// microsecond, so that a sub-millisecond loopback probe does not read 0.
var junitTime = regexp.MustCompile(`^[0-9]+\.[0-9]{6}$`)

// TestJUnitReport runs the real client with -junit in each one-shot mode
// against the real server and addresses where nothing listens, validates
// each report against the JUnit schema and checks its test cases: one per
// target × family, classed under the target as given, the client's
// one-line error as the failure's message (what reporters headline), the
// class as its type, and the times to the microsecond.
func TestJUnitReport(t *testing.T) {
	name, dns := dualName(t)
	v4only := smileServer(t, false)
	dead := closedPort(t)
	uport := strconv.Itoa(int(smiletest.UDPResponder(t, "udp4", "127.0.0.1:0", greeting, false).Port()))
	udead := closedUDPPort(t, "udp4", "127.0.0.1")
	udeadMsg := "no answer over UDP from 127.0.0.1:" + udead + ": refused: port unreachable, reported by 127.0.0.1 (the server itself)"
	type want struct {
		name, class, message, text string // class "" for a case that passed
	}
	cases := []struct {
		desc      string
		args      []string
		code      int
		suite     string
		classname string
		cases     []want
	}{
		{"-each, IPv6 refused", []string{"-each", "-count", "2", "-resolver", dns, name, v4only}, 1,
			"smile-client -each -count 2 " + name + ":" + v4only, name + ":" + v4only, []want{
				{"ipv4 127.0.0.1:" + v4only, "", "", ""},
				{"ipv6 [::1]:" + v4only, "refused", "can't connect to [::1]:" + v4only + ": refused",
					"can't connect to [::1]:" + v4only + ": refused\n2 of 2 probes failed"},
				{"name " + name + ":" + v4only, "", "", ""},
			}},
		{"-each, no such name", []string{"-each", "-resolver", dns, "nowhere.smile.test", v4only}, 1,
			"smile-client -each nowhere.smile.test:" + v4only, "nowhere.smile.test:" + v4only, []want{
				{"name nowhere.smile.test:" + v4only, "dns", "can't resolve nowhere.smile.test: dns: no such host",
					"can't resolve nowhere.smile.test: dns: no such host"},
			}},
		{"-count, refused", []string{"-count", "3", "-json", "127.0.0.1", dead}, 1,
			"smile-client -count 3 127.0.0.1:" + dead, "127.0.0.1:" + dead, []want{
				{"ipv4 127.0.0.1:" + dead, "refused", "can't connect to 127.0.0.1:" + dead + ": refused",
					"can't connect to 127.0.0.1:" + dead + ": refused\n3 of 3 probes failed"},
			}},
		{"-count over a name", []string{"-count", "3", "-resolver", dns, "-4", name, v4only}, 0,
			"smile-client -count 3 " + name + ":" + v4only, name + ":" + v4only, []want{
				{"ipv4 " + name + ":" + v4only, "", "", ""},
			}},
		{"-udp, one greeting", []string{"-udp", "127.0.0.1", uport}, 0,
			"smile-client -udp 127.0.0.1:" + uport, "127.0.0.1:" + uport, []want{
				{"udp ipv4 127.0.0.1:" + uport, "", "", ""},
			}},
		{"-pmtu, refused", []string{"-pmtu", "127.0.0.1", udead}, 1,
			"smile-client -pmtu 127.0.0.1:" + udead, "127.0.0.1:" + udead, []want{
				{"udp ipv4 127.0.0.1:" + udead, "refused", udeadMsg, udeadMsg},
			}},
		{"one probe", []string{"127.0.0.1", v4only}, 0,
			"smile-client 127.0.0.1:" + v4only, "127.0.0.1:" + v4only, []want{
				{"ipv4 127.0.0.1:" + v4only, "", "", ""},
			}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "report.xml")
			code, _, errOut, _ := runClient(t, append([]string{"-junit", path}, c.args...)...)
			assert.Equal(t, c.code, code, errOut)
			suite, tests, failures, seen := readJUnit(t, path)
			assert.Equal(t, c.suite, suite)
			assert.Equal(t, len(c.cases), tests)
			require.Len(t, seen, len(c.cases))
			failed := 0
			for i, w := range c.cases {
				assert.Equal(t, w.name, seen[i].Name)
				assert.Equal(t, c.classname, seen[i].Classname)
				assert.Regexp(t, junitTime, seen[i].Time, w.name)
				if w.class == "" {
					assert.Nil(t, seen[i].Failure, w.name)
					assert.NotEqual(t, "0.000000", seen[i].Time, "%s: a greeting takes a microsecond at least", w.name)
					continue
				}
				failed++
				require.NotNil(t, seen[i].Failure, w.name)
				assert.Equal(t, w.message, seen[i].Failure.Message)
				assert.Equal(t, w.class, seen[i].Failure.Type)
				assert.Equal(t, w.text, seen[i].Failure.Text)
			}
			assert.Equal(t, failed, failures)
		})
	}
}

// TestJUnitBadPath: a report that cannot be created is a usage error
// before any probe; one that cannot be written at the end fails the run.
func TestJUnitBadPath(t *testing.T) {
	accepted := make(chan struct{}, 10)
	_, port := peer(t, "tcp4", "127.0.0.1:0", func(c net.Conn) { accepted <- struct{}{}; _, _ = c.Write([]byte(greeting)) })
	dir := t.TempDir()
	for _, c := range []struct{ path, msg string }{
		{filepath.Join(dir, "no", "such", "dir", "r.xml"), "bad -junit " + filepath.Join(dir, "no", "such", "dir", "r.xml") + ": no such file or directory"},
		{dir, "bad -junit " + dir + ": is a directory"},
	} {
		code, out, errOut, elapsed := runClient(t, "-each", "-junit", c.path, "127.0.0.1", port)
		assert.Equal(t, 2, code)
		assert.Empty(t, out)
		assert.Equal(t, "smile-client: "+c.msg+"\n", errOut)
		assert.Less(t, elapsed, time.Second)
	}
	assert.Empty(t, accepted, "no probe before the report's file is known to be writable")

	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full to fail the write")
	}
	code, out, errOut, _ := runClient(t, "-count", "2", "-junit", "/dev/full", "127.0.0.1", port)
	assert.Equal(t, 1, code, "the probes succeeded, the report did not")
	assert.True(t, strings.HasPrefix(out, "--- 127.0.0.1:"+port+" smile statistics ---\n"), out)
	assert.Equal(t, "smile-client: can't write the -junit report: write /dev/full: no space left on device\n", errOut)
}
