package mesh_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/mesh"
)

// TestPageColoursEveryClass: the page's COLOURS has a colour for every
// class of the matrix's class list, in its order, each its own; a class
// it does not know (a newer peer's) is drawn in UNKNOWN, visible on the
// white page and unlike every known class, and so are the blocks of no
// cell and of a stale row.
func TestPageColoursEveryClass(t *testing.T) {
	b, err := os.ReadFile("page.html")
	require.NoError(t, err)
	block := regexp.MustCompile(`(?s)const COLOURS = \{(.*?)\};`).FindSubmatch(b)
	require.NotNil(t, block, "page.html has no `const COLOURS = {...};`")
	var classes []string
	colours := map[string]string{}
	for _, m := range regexp.MustCompile(`"([^"]+)":\s*"(#[0-9a-f]{6})"`).FindAllSubmatch(block[1], -1) {
		classes = append(classes, string(m[1]))
		colours[string(m[1])] = string(m[2])
	}
	assert.Equal(t, mesh.Classes(), classes, "COLOURS: a colour per class, in the order of mesh.Classes()")
	seen := map[string]string{}
	for _, name := range []string{"UNKNOWN", "NONE", "STALE"} {
		m := regexp.MustCompile(`const ` + name + ` = "(#[0-9a-f]{6})"`).FindSubmatch(b)
		if assert.NotNil(t, m, "page.html has no const %s", name) {
			colours[name] = string(m[1])
		}
	}
	for name, c := range colours {
		assert.NotEqual(t, "#ffffff", c, "%s: white on the white page", name)
		if other, dup := seen[c]; dup {
			t.Errorf("%s and %s are both %s", name, other, c)
		}
		seen[c] = name
	}
}
