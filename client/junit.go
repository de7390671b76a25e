package client

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"
)

// junitReport is what -junit FILE writes: JUnit XML with one test case per
// target × family, so a CI system's test view names the address that
// failed, classed under the target as given (so that the reports of runs
// against several targets stay apart when merged), with smile-client's
// one-line error as the failure's message, which reporters headline, and
// its class as the failure's type. docs/json.md shows an example; the
// tests validate it against the JUnit schema that Jenkins' xUnit plugin
// reads.
type junitReport struct {
	f         *os.File
	suite     string
	classname string
	start     time.Time
	cases     map[string]*junitCase
}

// junitCase is one test case: every probe of one target over one family.
type junitCase struct {
	probes, failed int
	class, message string // of the last failure
	took           time.Duration
}

// openJUnit creates path before any probe runs, so a path that cannot be
// written is a usage error rather than a report lost after the run. Its
// suite is named suite, its cases classed under classname.
func openJUnit(path, suite, classname string) (*junitReport, error) {
	f, err := os.Create(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("bad -junit %s: %w", path, err)
	}
	return &junitReport{f: f, suite: suite, classname: classname, start: time.Now(), cases: map[string]*junitCase{}}, nil
}

// junitName names a test case: the family and the target, e.g.
// "ipv6 [::1]:7890", or "name host:7890" for the name as a whole (-each's
// row dialled by name, or a name that never resolved to an address).
func junitName(family, target string) string {
	if family == "" {
		family = "name"
	}
	return familyJSON(family) + " " + target
}

// add counts one probe of probe mode under its target × family; a nil
// report (no -junit) does nothing.
func (j *junitReport) add(r *result) {
	if j == nil {
		return
	}
	c := j.caseOf(junitName(r.family, r.target))
	c.probes++
	c.took += r.total
	if !r.ok() {
		c.failed++
		c.class, c.message = r.class, r.message()
	}
}

// addUDP records a -udp run: one test case, named "udp ipv4 HOST:PORT".
func (j *junitReport) addUDP(r *udpResult) {
	if j == nil {
		return
	}
	c := j.caseOf("udp " + junitName(r.family, r.target))
	c.probes, c.took = 1, r.took
	if !r.ok() {
		c.failed, c.class, c.message = 1, r.class, r.message()
	}
}

// addRows records -each's rows, row i having taken took[i].
func (j *junitReport) addRows(rows []EachRow, took []time.Duration) {
	if j == nil {
		return
	}
	for i := range rows {
		row := &rows[i]
		family := row.Family
		if row.Via == "name" {
			family = ""
		}
		name := junitName(family, row.Target)
		if row.Protocol != "" {
			name = row.Protocol + " " + name
		}
		c := j.caseOf(name)
		c.probes, c.failed, c.took = row.Probes, row.FailedProbes, took[i]
		c.class, c.message = row.Class, row.Error
	}
}

func (j *junitReport) caseOf(name string) *junitCase {
	c := j.cases[name]
	if c == nil {
		c = &junitCase{}
		j.cases[name] = c
	}
	return c
}

// The XML elements, with the attributes CI systems read.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name      string          `xml:"name,attr"`
		Tests     int             `xml:"tests,attr"`
		Failures  int             `xml:"failures,attr"`
		Errors    int             `xml:"errors,attr"`
		Skipped   int             `xml:"skipped,attr"`
		Time      string          `xml:"time,attr"`
		Timestamp string          `xml:"timestamp,attr"`
		Cases     []junitTestcase `xml:"testcase"`
	}
	junitTestcase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitFailure `xml:"failure,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

// caseSeconds is a test case's time: seconds to the microsecond, as the
// -json times are, so that a sub-millisecond loopback probe does not read
// 0 (the schema takes any string there).
func caseSeconds(d time.Duration) string { return fmt.Sprintf("%.6f", d.Seconds()) }

// suiteSeconds is the run's time on <testsuite> and <testsuites>: to the
// millisecond, the most digits the schema's SUREFIRE_TIME allows there.
func suiteSeconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// write writes the report and closes the file.
func (j *junitReport) write() error {
	names := make([]string, 0, len(j.cases))
	for n := range j.cases {
		names = append(names, n)
	}
	sort.Strings(names)
	suite := junitSuite{Name: j.suite, Time: suiteSeconds(time.Since(j.start)),
		Timestamp: j.start.UTC().Format(time.RFC3339)}
	for _, n := range names {
		c := j.cases[n]
		tc := junitTestcase{Name: n, Classname: j.classname, Time: caseSeconds(c.took)}
		if c.failed > 0 || c.probes == 0 { // none: interrupted before the first
			text := c.message
			if c.probes > 1 {
				text += fmt.Sprintf("\n%d of %d probes failed", c.failed, c.probes)
			}
			tc.Failure = &junitFailure{Message: c.message, Type: c.class, Text: text}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	suite.Tests = len(suite.Cases)
	out, err := xml.MarshalIndent(junitSuites{Name: "smile-client", Tests: suite.Tests, Failures: suite.Failures,
		Time: suite.Time, Suites: []junitSuite{suite}}, "", "  ")
	if err == nil {
		_, err = j.f.WriteString(xml.Header + string(out) + "\n")
	}
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("can't write the -junit report: %w", err)
	}
	return nil
}

// junitSuiteName names the run: the mode's flags and the target.
func junitSuiteName(cfg *Config) string {
	parts := []string{"smile-client"}
	if cfg.PMTU {
		parts = append(parts, "-pmtu")
	} else if cfg.UDP {
		parts = append(parts, "-udp")
	}
	if cfg.Each {
		parts = append(parts, "-each")
	}
	if cfg.Count > 1 {
		parts = append(parts, fmt.Sprintf("-count %d", cfg.Count))
	}
	return strings.Join(append(parts, cfg.Target.String()), " ")
}
