package mesh_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/mesh"
)

// TestMeshJSONFollowsTheSchema: /mesh.json and /matrix.json, with ok
// cells, a stale row and a lookup that failed, follow
// docs/smile.schema.json, the one schema of everything smile writes.
func TestMeshJSONFollowsTheSchema(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	spec := fmt.Sprintf("127.0.0.61:%d,127.0.0.62:%d,127.0.0.63:%d,nowhere.invalid", port, port, port)
	startNode(t, "s61", "127.0.0.61", port, web, spec, "-resolver", "127.0.0.1:1")
	startNode(t, "s62", "127.0.0.62", port, web, spec, "-resolver", "127.0.0.1:1")
	base := fmt.Sprintf("http://127.0.0.61:%d", web)
	waitFor(t, base, 15*time.Second, func(m *mesh.Matrix) bool {
		stale := 0
		for _, r := range m.Rows {
			if r.Stale {
				stale++
			}
		}
		return len(m.Rows) == 3 && stale == 1
	})
	for _, path := range []string{"/mesh.json", "/mesh.json?destinations=none", "/mesh.json?form=compact", "/matrix.json"} {
		_, body, err := get(base + path)
		require.NoError(t, err)
		assert.NoError(t, smiletest.CheckJSON([]byte(strings.TrimSpace(string(body)))), "%s: %s", path, body)
	}
}

// TestSchemaMatchesTheMeshTypes keeps the schema's mesh entries and the Go
// types that write them the same, field for field.
func TestSchemaMatchesTheMeshTypes(t *testing.T) {
	// mesh_node is a row in either form; mesh_cell has its column in a
	// compact row and in the matrix.
	for def, v := range map[string][]any{"mesh_node": {mesh.Row{}, mesh.CompactRow{}}, "mesh_cell": {mesh.ColumnCell{}},
		"discovery": {mesh.Discovery{}}, "mesh_matrix": {mesh.Matrix{}}, "mesh_row": {mesh.MatrixRow{}}, "mesh_column": {mesh.Column{}}} {
		props, err := smiletest.SchemaProperties(def)
		require.NoError(t, err)
		var fields []string
		for _, t := range v {
			fields = append(fields, smiletest.JSONFields(reflect.TypeOf(t))...)
		}
		slices.Sort(fields)
		assert.Equal(t, props, slices.Compact(fields), "$defs/%s", def)
	}
}
