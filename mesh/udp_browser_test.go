package mesh_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/mesh"
)

// TestPageMarksLossyPairs: on the page of a mesh whose third node answers
// no datagrams (-udp=false), the pairs towards it, ok over TCP, stand out:
// a corner of their block in PATH_MARK, and a line in their detail saying
// why; a pair whose datagrams all came back has neither.
func TestPageMarksLossyPairs(t *testing.T) {
	t.Parallel()
	chromium := smiletest.RequireChromium(t)
	port, web := ports(t)
	ip := func(i int) string { return fmt.Sprintf("127.0.0.%d", i) }
	spec := fmt.Sprintf("%s:%d,%s:%d,%s:%d", ip(76), port, ip(77), port, ip(78), port)
	startNode(t, "p76", ip(76), port, web, spec)
	startNode(t, "p77", ip(77), port, web, spec)
	startNode(t, "p78", ip(78), port, web, spec, "-udp=false")
	base := fmt.Sprintf("http://%s:%d", ip(76), web)
	waitFor(t, base, 15*time.Second, func(m *mesh.Matrix) bool {
		r := row(m, "p76")
		return len(m.Rows) == 3 && r != nil && len(r.Cells) == 1 && r.Cells[0].LossRatio != nil && len(m.Cells(r)) == 2
	})

	browser := smiletest.NewBrowser(t, chromium, 1200, 900)
	ctx, cancel := context.WithTimeout(browser, time.Minute)
	defer cancel()
	load(t, ctx, base+"/")
	type viewCell struct {
		Src, Dst, Class, Path string
		Marked                bool
	}
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[[]viewCell](`window.smileView().cells.map(c => ({src: c.src, dst: c.dst, class: c.class, path: c.path, marked: c.marked}))`))
	require.NoError(t, err)
	got := map[string]viewCell{}
	for _, c := range cells {
		got[c.Src+" "+c.Dst] = c
	}
	assert.Equal(t, viewCell{"p76", "p78", "ok", "100% of datagrams lost", true}, got["p76 p78"])
	assert.Equal(t, viewCell{"p76", "p77", "ok", "", false}, got["p76 p77"])

	// The lossy block's top right corner is PATH_MARK; the ok one's is
	// COLOURS.ok.
	corner := func(src, dst string) []int {
		b := where(t, ctx, src, dst)
		px, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](fmt.Sprintf(`(() => {
			const cv = document.getElementById("heatmap"), r = cv.getBoundingClientRect();
			return [...cv.getContext("2d").getImageData(%v - r.left + %v / 2 - 2, %v - r.top - %v / 2 + 2, 1, 1).data.slice(0, 3)];
		})()`, b.X, b.W, b.Y, b.H)))
		require.NoError(t, err)
		return px
	}
	colour := func(js string) []int {
		c, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`(h => [1, 3, 5].map(i => parseInt(h.slice(i, i + 2), 16)))(`+js+`)`))
		require.NoError(t, err)
		return c
	}
	assert.Equal(t, colour("PATH_MARK"), corner("p76", "p78"))
	assert.Equal(t, colour("COLOURS.ok"), corner("p76", "p77"))

	tip := hover(t, ctx, "p76", "p78", "#tip")
	assert.True(t, strings.HasPrefix(tip, "p76 → p78\n4 ok\n"), tip)
	assert.Contains(t, tip, "\n    datagrams: loss 100%\n    ⚑ 100% of datagrams lost")
}
