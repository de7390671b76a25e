package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/smile-sockets/smile/client"
)

// pageView is the matrix page as a person sees it once the browser has run
// its script: every block of the heatmap with its text (what hovering it
// says), colour and whether it takes up room on the screen, and every row
// with its header.
type pageView struct {
	Status string     `json:"status"`
	Cells  []pageCell `json:"cells"`
	Rows   []pageRow  `json:"rows"`
}

type pageCell struct {
	Src        string `json:"src"`
	Dst        string `json:"dst"`
	Family     string `json:"family"`
	Class      string `json:"class"`
	Text       string `json:"text"`
	Background string `json:"background"`
	Visible    bool   `json:"visible"`
}

type pageRow struct {
	Src    string `json:"src"`
	Stale  bool   `json:"stale"`
	Header string `json:"header"`
}

// readPage is the script that reads the drawn matrix back: the page's
// smileView (mesh/page.html), every block of the heatmap with its class,
// its text and the colour of its pixels on the canvas.
const readPage = `window.smileView() || {status: document.getElementById("status").innerText, cells: [], rows: []}`

// mismatches lists how the page differs from want: a row per node, the
// stale one marked and saying so, and for every pair one visible cell of
// the wanted class whose text names the class of a failure, coloured like
// every other ok cell when ok and unlike them when not.
func (want meshState) pageMismatches(nodes []*meshNode, v pageView) []string {
	var out []string
	var srcs, names []string
	for _, r := range v.Rows {
		srcs = append(srcs, r.Src)
		if r.Stale != (r.Src == want.stale) {
			out = append(out, fmt.Sprintf("row %s: data-stale %v", r.Src, r.Stale))
		}
		if r.Stale && !strings.Contains(r.Header, "stale: no row from") {
			out = append(out, fmt.Sprintf("row %s: stale, but its header says %q", r.Src, r.Header))
		}
	}
	for _, n := range nodes {
		names = append(names, n.name)
	}
	slices.Sort(srcs)
	if !slices.Equal(srcs, names) {
		out = append(out, fmt.Sprintf("rows %v, want %v", srcs, names))
	}
	cells := map[pair][]pageCell{}
	okColours := map[string]bool{}
	for _, c := range v.Cells {
		k := pair{c.Src, c.Dst, c.Family}
		cells[k] = append(cells[k], c)
		if c.Class == "ok" {
			okColours[c.Background] = true
		}
	}
	if len(okColours) > 1 {
		out = append(out, fmt.Sprintf("ok cells in %d colours: %v", len(okColours), okColours))
	}
	for k, w := range want.cells {
		got := cells[k]
		if len(got) != 1 {
			out = append(out, fmt.Sprintf("%v: %d cells drawn, want 1", k, len(got)))
			continue
		}
		c, class := got[0], w.class
		if class == "" {
			class = "ok"
		}
		shows := strings.Contains(c.Text, " "+w.class+" ")
		switch {
		case c.Class != class:
			out = append(out, fmt.Sprintf("%v: data-class %q, want %q", k, c.Class, class))
		case !c.Visible:
			out = append(out, fmt.Sprintf("%v: not visible", k))
		case w.class != "" && (!shows || okColours[c.Background]):
			out = append(out, fmt.Sprintf("%v: a %s cell that reads %q in %s, as ok cells are %v", k, w.class, c.Text, c.Background, okColours))
		case w.class == "" && slices.ContainsFunc(client.Classes(), func(class string) bool { return strings.Contains(c.Text, " "+class+" ") }):
			out = append(out, fmt.Sprintf("%v: an ok cell that reads %q", k, c.Text))
		}
	}
	for k := range cells {
		if _, ok := want.cells[k]; !ok {
			out = append(out, fmt.Sprintf("%v: a cell drawn that the matrix should not have", k))
		}
	}
	slices.Sort(out)
	return out
}

// awaitPage loads url in the browser and reads the drawn matrix until it
// shows want or within has passed; it returns the last view and its
// differences. The page fetches /matrix.json as it loads, then every few
// seconds.
func awaitPage(ctx context.Context, nodes []*meshNode, url string, want meshState, within time.Duration) (pageView, []string) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return pageView{}, []string{fmt.Sprintf("loading %s: %v", url, err)}
	}
	var v pageView
	var diff []string
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[pageView](readPage))
		if err == nil {
			v, diff = got, want.pageMismatches(nodes, got)
			if len(diff) == 0 {
				return v, nil
			}
		} else if diff == nil {
			diff = []string{fmt.Sprintf("reading the page: %v", err)}
		}
		select {
		case <-ctx.Done():
			return v, diff
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// screenshot takes the whole page as PNG.
func screenshot(t *testing.T, ctx context.Context) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot: %v", err)
	}
	return png
}
