package doccheck

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	// goFileName is a Go file's name as comments and pages cite it:
	// server/fastpath_linux.go, lingerset_linux.go, listen_<os>.go,
	// classify_*_test.go, or a suffix alone (_linux_test.go).
	goFileName = regexp.MustCompile(`[\w./<>*-]*[\w>*]\.go\b`)
	// lineComment is a Go line comment, where code cites files.
	lineComment = regexp.MustCompile(`//.*`)
	// placeholder is a part of a cited name that stands for any text.
	placeholder = regexp.MustCompile(`<[^>]*>`)
)

// TestCitedGoFilesExist: every Go file a comment or a Markdown page of
// the repository names exists, so that a rename cannot leave a pointer to
// a file that is gone. A name matches a file of that name anywhere, a
// path the end of a file's path; <os> and * stand for any text, and a
// name that begins with _ is a suffix.
func TestCitedGoFilesExist(t *testing.T) {
	var goFiles []string
	cites := map[string][]string{} // cited name to the files that cite it
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() != "." && d.Name() != ".." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		isGo := strings.HasSuffix(rel, ".go")
		if isGo {
			goFiles = append(goFiles, rel)
		}
		if !isGo && !strings.HasSuffix(rel, ".md") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		text := string(b)
		if isGo {
			text = strings.Join(lineComment.FindAllString(text, -1), "\n")
		}
		for _, name := range goFileName.FindAllString(text, -1) {
			if !strings.Contains(name, "http") && !strings.HasPrefix(name, "golang.org/") && !strings.HasPrefix(name, "github.com/") {
				cites[name] = append(cites[name], rel)
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, cites)
	for name, by := range cites {
		assert.True(t, cited(name, goFiles), "%s names %s, which is no file of the repository", by[0], name)
	}
}

// cited reports whether a cited name stands for one of files.
func cited(name string, files []string) bool {
	pattern := placeholder.ReplaceAllString(name, "*")
	if strings.HasPrefix(pattern, "_") {
		pattern = "*" + pattern
	}
	for _, f := range files {
		tail := f
		if n := strings.Count(pattern, "/") + 1; strings.Count(f, "/") >= n {
			tail = strings.Join(strings.Split(f, "/")[strings.Count(f, "/")+1-n:], "/")
		}
		if ok, _ := path.Match(pattern, tail); ok {
			return true
		}
	}
	return false
}
