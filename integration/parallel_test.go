package integration

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryTestIsParallel keeps the suite's critical path as short as its
// longest test: one sequential test holds back every parallel one until it
// ends (TestFromSource once did, for over a minute). Every top-level test
// of the package calls t.Parallel in its own body.
func TestEveryTestIsParallel(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*_test.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	tests := 0
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !isTestFunc(fn) {
				continue
			}
			tests++
			assert.True(t, callsParallel(fn.Body), "%s: %s does not call t.Parallel()", fset.Position(fn.Pos()), fn.Name.Name)
		}
	}
	assert.Greater(t, tests, 10, "the package's tests were found")
}

// isTestFunc says whether fn is a top-level test: TestXxx(t *testing.T).
func isTestFunc(fn *ast.FuncDecl) bool {
	if len(fn.Name.Name) < 4 || fn.Name.Name[:4] != "Test" || fn.Type.Params.NumFields() != 1 {
		return false
	}
	star, ok := fn.Type.Params.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "T"
}

// callsParallel says whether a statement of body itself (not a subtest's
// function) is a call of t.Parallel().
func callsParallel(body *ast.BlockStmt) bool {
	for _, st := range body.List {
		es, ok := st.(*ast.ExprStmt)
		if !ok {
			continue
		}
		call, ok := es.X.(*ast.CallExpr)
		if !ok {
			continue
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Parallel" {
			return true
		}
	}
	return false
}
