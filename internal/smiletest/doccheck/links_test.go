package doccheck

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// root is the repository, from this package's directory.
const root = "../../.."

// docPages are the pages whose links are checked: the front page, every
// page of docs/ and the Kubernetes page beside its manifests.
func docPages(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, pages, "docs/*.md")
	rel := []string{"README.md", filepath.Join("deploy", "kubernetes", "README.md")}
	for _, p := range pages {
		r, err := filepath.Rel(root, p)
		require.NoError(t, err)
		rel = append(rel, r)
	}
	return rel
}

// TestDocLinks: every relative link and #anchor between README.md,
// docs/*.md and deploy/kubernetes/README.md resolves.
func TestDocLinks(t *testing.T) {
	broken, err := CheckLinks(root, docPages(t))
	require.NoError(t, err)
	assert.Empty(t, broken, "links that do not resolve")
}

// TestDocPagesAreLinked: every page of docs/ is reachable from the front
// page's map of docs/.
func TestDocPagesAreLinked(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	linked := map[string]bool{}
	for _, l := range Links(string(b)) {
		linked[filepath.Clean(l.Target)] = true
	}
	for _, p := range docPages(t)[2:] {
		assert.True(t, linked[p], "README.md does not link %s", p)
	}
}

// TestSlug: headings become the anchors GitHub gives them.
func TestSlug(t *testing.T) {
	cases := []struct{ heading, want string }{
		{"Exit codes", "exit-codes"},
		{"What a failure means", "what-a-failure-means"},
		{"smile-server", "smile-server"},
		{"One connection, system call by system call", "one-connection-system-call-by-system-call"},
		{"The matrices: addressing and restart", "the-matrices-addressing-and-restart"},
		{"`-each` and `-json`", "-each-and--json"},
		{"Run it on kind", "run-it-on-kind"},
		{"**Bold** and _under_score", "bold-and-_under_score"},
		{"A [link](x.md) in it", "a-link-in-it"},
		{"Größe × 2", "größe--2"},
	}
	for _, c := range cases {
		t.Run(c.heading, func(t *testing.T) {
			assert.Equal(t, c.want, Slug(c.heading))
		})
	}
}

// TestAnchors: repeated headings get -1, -2 as on GitHub, code blocks hold
// no headings, and HTML anchors count.
func TestAnchors(t *testing.T) {
	page := "# Title\n## Usage\n```sh\n# not a heading\n```\n## Usage\n### Usage\n<a name=\"here\"></a>\n"
	assert.Equal(t, map[string]bool{"title": true, "usage": true, "usage-1": true, "usage-2": true, "here": true}, Anchors(page))
}

// TestCheckLinks finds each kind of broken link in a made-up repository
// and passes the good ones, ignoring links inside code.
func TestCheckLinks(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, rel), []byte(text), 0o644))
	}
	write("README.md", "# Front\n\n[ok](docs/a.md) [ok](docs/a.md#part-one) [ok](#front) [ok](https://example.com/x#y)\n"+
		"[dead file](docs/missing.md) [dead anchor](docs/a.md#part-two) ![pic](docs/pic.svg) [dir](docs/)\n"+
		"`[in code](nowhere.md)`\n```\n[in a block](nowhere.md)\n```\n[own dead](#nowhere)\n")
	write("docs/a.md", "# A\n\n## Part one\n\n[back](../README.md#front) [up and out](../../x.md) [svg anchor](pic.svg#x)\n")
	write("docs/pic.svg", "<svg/>")
	broken, err := CheckLinks(dir, []string{"README.md", "docs/a.md"})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"README.md:4: docs/missing.md: no such file",
		"README.md:4: docs/a.md#part-two: docs/a.md has no heading with the anchor #part-two",
		"README.md:9: #nowhere: README.md has no heading with the anchor #nowhere",
		"docs/a.md:5: ../../x.md: outside the repository",
		"docs/a.md:5: pic.svg#x: an anchor into a file that is not Markdown",
	}, broken)
}
