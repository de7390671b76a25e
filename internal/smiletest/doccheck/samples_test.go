package doccheck

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const page = "# Page\n\nFrom a run:\n\n<!-- sample: log -->\n```\n2026-12-03T08:00:00.000Z INFO one\n2026-12-03T08:00:01.500Z INFO two\n```\n\nAfter.\n"

// TestSample reads the block below a marker, and says what is wrong with
// one that is missing, doubled or not fenced.
func TestSample(t *testing.T) {
	got, err := Sample(page, "log")
	require.NoError(t, err)
	assert.Equal(t, "2026-12-03T08:00:00.000Z INFO one\n2026-12-03T08:00:01.500Z INFO two\n", got)

	for name, c := range map[string]struct{ page, want string }{
		"missing":    {"# Page\n", `no "<!-- sample: log -->"`},
		"twice":      {page + page, `"<!-- sample: log -->" twice`},
		"not fenced": {"<!-- sample: log -->\ntext\n", `no fenced block right below "<!-- sample: log -->"`},
		"not closed": {"<!-- sample: log -->\n```\ntext\n", `the block below "<!-- sample: log -->" is not closed`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Sample(c.page, "log")
			assert.EqualError(t, err, c.want)
		})
	}
}

// TestReplace swaps only the block's body.
func TestReplace(t *testing.T) {
	got, err := Replace(page, "log", "new line")
	require.NoError(t, err)
	assert.Equal(t, "# Page\n\nFrom a run:\n\n<!-- sample: log -->\n```\nnew line\n```\n\nAfter.\n", got)
}

// TestNormalize: the rules replace only what they name.
func TestNormalize(t *testing.T) {
	assert.Equal(t, "TIME INFO SERVER started on port 7890\nTIME INFO x 2026-12-03T08:00:00.000Z\n",
		Normalize("2026-12-03T08:00:00.000Z INFO SERVER started on port 7890\n2026-12-03T09:10:11.123Z INFO x 2026-12-03T08:00:00.000Z\n", Timestamps))
	assert.Equal(t, `{"target":"a","connect_ms":N,"total_ms":N,"probes":1}`,
		Normalize(`{"target":"a","connect_ms":0.213,"total_ms":12,"probes":1}`, MillisecondFields))
	assert.Equal(t, `{"p50_ms":N,"p99_ms":N,"ok_probes":2}`,
		Normalize(`{"p50_ms":0.19,"p99_ms":0.42,"ok_probes":2}`, MillisecondFields), "names with digits")
}

// TestCheckSampleUpdates: with SMILE_UPDATE_DOCS=1 the run's output is
// written into the page verbatim, and a later check passes when only what
// the rules ignore differs.
func TestCheckSampleUpdates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "page.md")
	require.NoError(t, os.WriteFile(path, []byte(page), 0o600))

	t.Setenv(UpdateEnv, "1")
	CheckSample(t, path, "log", "2026-12-03T09:00:00.000Z INFO three\n")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	got, err := Sample(string(b), "log")
	require.NoError(t, err)
	assert.Equal(t, "2026-12-03T09:00:00.000Z INFO three\n", got)
	assert.Regexp(t, regexp.MustCompile(`(?s)^# Page\n.*\n\nAfter\.\n$`), string(b), "the rest of the page stays")

	t.Setenv(UpdateEnv, "")
	CheckSample(t, path, "log", "2026-12-03T10:11:12.345Z INFO three\n", Timestamps)
}
