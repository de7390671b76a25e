package client

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest/matrix"
)

// Classes() is the one list of failure classes. Each copy elsewhere is
// held to it: docs/usage.md's class table (TestDocsClassTable), the JSON
// schema's enum (TestSchemaMatchesTheGoTypes), docs/json.md's list
// (TestDocsJSONClassList), and docs/platforms.md's table of the system
// errors behind each class (TestDocsErrnoTable), which must also say
// exactly what classify_<os>.go maps and classify_<os>_test.go checks on
// every system, whichever system the test runs on.

// TestDocsJSONClassList keeps the list of classes in docs/json.md's
// description of `class` to Classes(), in order.
func TestDocsJSONClassList(t *testing.T) {
	b, err := os.ReadFile("../docs/json.md")
	require.NoError(t, err)
	m := regexp.MustCompile("`class` is why a failure happened, one of ([^(]*)\\(").FindSubmatch(b)
	require.NotNil(t, m, "docs/json.md describes `class` no more")
	got := regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(string(m[1]), -1)
	var names []string
	for _, g := range got {
		names = append(names, g[1])
	}
	assert.Equal(t, Classes(), names)
}

// errnoColumns are the systems of docs/platforms.md's errno table, each
// with the files that classify and test its errors.
var errnoColumns = []struct {
	column, code, test string
}{
	{"Linux", "classify_notwindows.go", "classify_linux_test.go"},
	{"macOS, FreeBSD", "classify_notwindows.go", "classify_darwinfreebsd_test.go"},
	{"Windows", "classify_windows.go", "classify_windows_test.go"},
}

// TestDocsErrnoTable holds docs/platforms.md's table of the errors behind
// each class to the code, for every system: a cell lists exactly the
// errors, with their numbers, that the system's test table
// (classify_<os>_test.go, whose numbers TestClassifyOSErrors checks on
// that system) gives that class, and the classification table
// (classify_<os>.go) maps exactly those names to it.
func TestDocsErrnoTable(t *testing.T) {
	b, err := os.ReadFile("../docs/platforms.md")
	require.NoError(t, err)
	const start = "| class | Linux |"
	rows, err := matrix.DocTable(string(b), start)
	require.NoError(t, err)
	i := strings.Index(string(b), start)
	header := matrix.Cells(strings.SplitN(string(b)[i:], "\n", 2)[0])
	require.Len(t, header, 1+len(errnoColumns))
	for i, col := range errnoColumns {
		require.Equal(t, col.column, header[1+i])
		t.Run(col.column, func(t *testing.T) {
			doc := map[string]string{} // "NAME (NUMBER)" to class
			for _, r := range rows {
				class, _, _ := strings.Cut(r[0], " (") // "unreachable (firewall's reject)"
				require.Contains(t, Classes(), class, "docs/platforms.md row %q", r[0])
				for _, e := range strings.Split(r[1+i], ", ") {
					doc[e] = class
				}
			}
			tested := testedErrors(t, col.test)
			assert.Equal(t, tested, doc, "docs/platforms.md's %s column against %s", col.column, col.test)
			mapped := mappedErrors(t, col.code)
			names := map[string]string{}
			for e, class := range tested {
				name, _, _ := strings.Cut(e, " (")
				if class != classOther || mapped[name] != "" {
					names[name] = class
				}
			}
			assert.Equal(t, names, mapped, "%s against %s", col.code, col.test)
		})
	}
}

// classOf maps the class constants of classify.go to their values.
var classOf = map[string]string{
	"classDNS": classDNS, "classRefused": classRefused, "classTimeout": classTimeout, "classReset": classReset,
	"classUnreachable": classUnreachable, "classTooLarge": classTooLarge, "classMismatch": classMismatch,
	"classEmpty": classEmpty, "classOther": classOther,
}

// testedErrors reads the osErrors table of a classify_<os>_test.go file,
// which need not build here: "NAME (NUMBER)" to class.
func testedErrors(t *testing.T, file string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, lit := range varElems(t, file, "osErrors") {
		row, ok := lit.(*ast.CompositeLit)
		require.True(t, ok, "%s: osErrors holds a row that is no literal", file)
		require.Len(t, row.Elts, 4, "%s: osErrors row", file)
		name, err := strconv.Unquote(row.Elts[0].(*ast.BasicLit).Value)
		require.NoError(t, err)
		num := row.Elts[1].(*ast.BasicLit).Value
		class := classOf[row.Elts[3].(*ast.Ident).Name]
		require.NotEmpty(t, class, "%s: %s has no known class", file, name)
		out[name+" ("+num+")"] = class
	}
	return out
}

// errsClass are the tables of classify_<os>.go and the class each stands for.
var errsClass = map[string]string{
	"refusedErrs": classRefused, "resetErrs": classReset, "unreachableErrs": classUnreachable,
	"prohibitedErrs": classUnreachable, "timedOutErrs": classTimeout, "noLocalAddrErrs": classOther,
}

// mappedErrors reads the error tables of a classify_<os>.go file, which
// need not build here: each error's name (unix.ECONNREFUSED's is
// ECONNREFUSED) to its class.
func mappedErrors(t *testing.T, file string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for table, class := range errsClass {
		for _, e := range varElems(t, file, table) {
			sel, ok := e.(*ast.SelectorExpr)
			require.True(t, ok, "%s: %s holds something other than a package's error", file, table)
			out[sel.Sel.Name] = class
		}
	}
	return out
}

// varElems are the elements of the slice literal a file's package-level
// variable name is set to.
func varElems(t *testing.T, file, name string) []ast.Expr {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
	require.NoError(t, err)
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if i := slices.IndexFunc(vs.Names, func(n *ast.Ident) bool { return n.Name == name }); i >= 0 {
				lit, ok := vs.Values[i].(*ast.CompositeLit)
				require.True(t, ok, "%s: %s is no literal", file, name)
				return lit.Elts
			}
		}
	}
	require.Failf(t, "no table", "%s declares no %s", file, name)
	return nil
}
