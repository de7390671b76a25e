package server

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSystemFilesMapped checks doc.go against the files: every cell of its
// per-system table names a file that builds on that column's systems and
// declares that row's names, and its file map names every file of the
// package (one idea's files by their <os> pattern) and no file that is gone.
func TestSystemFilesMapped(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	lines := strings.Split(string(doc), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "// Who supplies what") {
			start = i + 2
		}
	}
	require.Positive(t, start, "doc.go has no per-system table")
	cols := regexp.MustCompile(`\s{2,}`)
	header := cols.Split(strings.TrimSpace(strings.TrimPrefix(lines[start], "//\t")), -1)
	require.Equal(t, []string{"linux", "darwin, freebsd", "windows"}, header)
	rows := 0
	for _, l := range lines[start+1:] {
		if !strings.HasPrefix(l, "//\t") {
			break
		}
		cells := cols.Split(strings.TrimPrefix(l, "//\t"), -1)
		require.Len(t, cells, 4, "row %q", l)
		names := strings.Split(cells[0], ", ")
		for c, cell := range cells[1:] {
			if strings.HasPrefix(cell, "(") {
				continue // supplied by no file of ours
			}
			file := strings.Fields(cell)[0]
			for _, goos := range strings.Split(header[c], ", ") {
				ctx := build.Default
				ctx.GOOS, ctx.GOARCH = goos, "amd64"
				ok, err := ctx.MatchFile(".", file)
				require.NoError(t, err, file)
				assert.True(t, ok, "%s does not build on %s, where doc.go says it supplies %s", file, goos, cells[0])
			}
			declared := declarations(t, file)
			for _, n := range names {
				assert.True(t, declared[n], "%s does not declare %s", file, n)
			}
		}
		rows++
	}
	assert.Positive(t, rows)

	text := string(doc)
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	suffix := regexp.MustCompile(`_(linux|darwin|freebsd|windows|notlinux|notwindows|darwinfreebsd)\.go$`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "doc.go" {
			continue
		}
		pattern := suffix.ReplaceAllString(f, "_<os>.go")
		assert.True(t, strings.Contains(text, f) || strings.Contains(text, pattern), "doc.go's file map leaves out %s", f)
	}
	for _, m := range regexp.MustCompile(`\b[a-z_]+\.go\b`).FindAllString(text, -1) {
		assert.FileExists(t, m, "doc.go names it")
	}
}

// declarations are the top-level names a Go file declares, methods included.
func declarations(t *testing.T, file string) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			names[d.Name.Name] = true
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					names[s.Name.Name] = true
				case *ast.ValueSpec:
					for _, n := range s.Names {
						names[n.Name] = true
					}
				}
			}
		}
	}
	return names
}
