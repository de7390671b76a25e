package doccheck

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// UpdateEnv is the variable that makes CheckSample write a run's output
// into the page instead of comparing: SMILE_UPDATE_DOCS=1 go test ….
const UpdateEnv = "SMILE_UPDATE_DOCS"

// marker is the HTML comment, invisible on GitHub, that names the fenced
// block right below it.
func marker(name string) string { return "<!-- sample: " + name + " -->" }

// block finds the fenced code block right below the sample's marker and
// returns the offsets of its body (the lines between the fences).
func block(markdown, name string) (start, end int, err error) {
	m := strings.Index(markdown, marker(name)+"\n")
	if m < 0 {
		return 0, 0, fmt.Errorf("no %q", marker(name))
	}
	if strings.Contains(markdown[m+1:], marker(name)+"\n") {
		return 0, 0, fmt.Errorf("%q twice", marker(name))
	}
	open := m + len(marker(name)) + 1
	nl := strings.IndexByte(markdown[open:], '\n')
	if nl < 0 || !strings.HasPrefix(markdown[open:], "```") {
		return 0, 0, fmt.Errorf("no fenced block right below %q", marker(name))
	}
	start = open + nl + 1
	closing := strings.Index(markdown[start:], "```")
	if closing < 0 || (closing > 0 && markdown[start+closing-1] != '\n') {
		return 0, 0, fmt.Errorf("the block below %q is not closed", marker(name))
	}
	return start, start + closing, nil
}

// Sample returns the body of the sample block named name, each line
// ending in a newline.
func Sample(markdown, name string) (string, error) {
	start, end, err := block(markdown, name)
	if err != nil {
		return "", err
	}
	return markdown[start:end], nil
}

// Replace returns markdown with the body of the sample block named name
// replaced by body.
func Replace(markdown, name, body string) (string, error) {
	start, end, err := block(markdown, name)
	if err != nil {
		return "", err
	}
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	return markdown[:start] + body + markdown[end:], nil
}

// Rule is one thing a comparison ignores: every match of Re, in the doc
// and in the run alike, becomes Repl.
type Rule struct {
	Re   *regexp.Regexp
	Repl string
}

// Normalize applies the rules in order.
func Normalize(s string, rules ...Rule) string {
	for _, r := range rules {
		s = r.Re.ReplaceAllString(s, r.Repl)
	}
	return s
}

// Timestamps is the leading time of a smile-server text log line.
var Timestamps = Rule{regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z `), "TIME "}

// MillisecondFields is the value of every JSON field whose name ends in
// _ms.
var MillisecondFields = Rule{regexp.MustCompile(`("[a-z0-9_]*_ms"):-?[0-9.e+-]+`), `$1:N`}

// writing serialises rewrites of pages, which parallel tests of one
// package may ask for at once.
var writing sync.Mutex

// CheckSample compares the sample block name of the page at path with got,
// a run's output, after applying rules to both; on a difference it fails
// the test and shows both. With SMILE_UPDATE_DOCS=1 it writes got into the
// page instead, verbatim.
func CheckSample(t testing.TB, path, name, got string, rules ...Rule) {
	t.Helper()
	writing.Lock()
	defer writing.Unlock()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	if os.Getenv(UpdateEnv) == "1" {
		updated, err := Replace(string(b), name, got)
		require.NoError(t, err, "%s", path)
		require.NoError(t, os.WriteFile(path, []byte(updated), 0o644))
		t.Logf("wrote the output of this run into the sample %q of %s", name, path)
		return
	}
	doc, err := Sample(string(b), name)
	require.NoError(t, err, "%s", path)
	assert.Equal(t, Normalize(doc, rules...), Normalize(got, rules...),
		"the sample %q of %s differs from this run (after normalising); %s=1 with this test rewrites it. This run's output:\n%s", name, path, UpdateEnv, got)
}
