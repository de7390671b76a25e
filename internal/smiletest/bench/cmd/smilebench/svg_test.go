//go:build linux

package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest/bench"
)

// svgNode is any element of the drawn SVG with what the test reads of it.
type svgNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []svgNode  `xml:",any"`
}

func (n svgNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// walk calls f on n and every element below it, in document order.
func (n svgNode) walk(f func(svgNode)) {
	f(n)
	for _, c := range n.Children {
		c.walk(f)
	}
}

// parseSVG decodes out strictly and fails the test unless it is one
// well-formed SVG document.
func parseSVG(t *testing.T, out []byte) svgNode {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(out))
	d.Strict = true
	var root svgNode
	require.NoError(t, d.Decode(&root), "well-formed XML:\n%s", out)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		cd, ok := tok.(xml.CharData)
		require.True(t, ok && len(bytes.TrimSpace(cd)) == 0, "nothing but white space after the root element, got %#v", tok)
	}
	require.Equal(t, "svg", root.XMLName.Local)
	require.Equal(t, "http://www.w3.org/2000/svg", root.XMLName.Space)
	return root
}

// TestWriteSVG draws rows as the bench would and reads the picture back:
// one conn/s bar and one p99 bar per row, in order, each carrying and
// labelled with the row's own values, bar lengths in proportion, the
// reference row marked, and text that needs escaping escaped.
func TestWriteSVG(t *testing.T) {
	cases := []struct {
		name string
		rows []chartRow
	}{
		{"the bench's rows", []chartRow{
			{name: "go", server: "Go baseline: accept, write, close (harness)", loader: "smile-client", rate: 11941, p99: 3.112},
			{name: "smile", server: "smile-server (log to file, rDNS via /etc/hosts)", loader: "smile-client", rate: 11555, p99: 2.68},
			{name: "c", server: "C loop: accept, write, close (cc -O2)", loader: "dial loop from 127.0.0.1", rate: 13326, p99: 2.445, ref: true},
			{name: "deaddns", server: "smile-server -resolver <dead stub>", loader: "dial loop from 127.0.0.2-127.0.0.9", rate: 12216, p99: 2.587},
		}},
		{"no reference row (no C compiler)", []chartRow{
			{name: "go", server: "Go baseline", loader: "smile-client", rate: 900, p99: 1.5},
			{name: "smile", server: "smile-server", loader: "smile-client", rate: 0.5, p99: 4002.164},
		}},
		{"no rows", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, writeSVG(&out, chart{title: "a <title> & more", note: "from the run", rows: c.rows}))
			root := parseSVG(t, out.Bytes())

			var conn, p99s, refs []svgNode
			var texts []string
			root.walk(func(n svgNode) {
				switch {
				case n.XMLName.Local == "rect" && n.attr("class") == "bar conn":
					conn = append(conn, n)
				case n.XMLName.Local == "rect" && n.attr("class") == "bar p99":
					p99s = append(p99s, n)
				case n.XMLName.Local == "line" && n.attr("class") == "reference":
					refs = append(refs, n)
				case n.XMLName.Local == "text" || n.XMLName.Local == "title":
					texts = append(texts, n.Text)
				}
			})
			require.Len(t, conn, len(c.rows), "one conn/s bar per row")
			require.Len(t, p99s, len(c.rows), "one p99 bar per row")
			assert.Contains(t, texts, "a <title> & more")

			maxRate, maxP99 := 0.0, 0.0
			for _, r := range c.rows {
				maxRate, maxP99 = max(maxRate, r.rate), max(maxP99, r.p99)
			}
			for i, r := range c.rows {
				assert.Equal(t, fmt.Sprintf("%.0f", r.rate), conn[i].attr("data-value"), "row %s", r.name)
				assert.Equal(t, fmt.Sprintf("%.3f", r.p99), p99s[i].attr("data-value"), "row %s", r.name)
				assert.Contains(t, texts, rateLabel(r.rate), "row %s: its conn/s written beside its bar", r.name)
				assert.Contains(t, texts, fmt.Sprintf("%.3f", r.p99), "row %s: its p99 written beside its bar", r.name)
				assert.Contains(t, texts, r.name)
				assert.Contains(t, texts, r.server+"; "+r.loader)
				// Bars are in proportion: the longest is the largest value.
				assert.InDelta(t, r.rate/maxRate, width(t, conn[i])/width(t, longest(t, conn)), 0.01, "row %s", r.name)
				assert.InDelta(t, r.p99/maxP99, width(t, p99s[i])/width(t, longest(t, p99s)), 0.01, "row %s", r.name)
				wantFill := "#4878a8"
				if r.ref {
					wantFill = "#888888"
				}
				assert.Equal(t, wantFill, conn[i].attr("fill"), "row %s", r.name)
			}
			hasRef := false
			for _, r := range c.rows {
				hasRef = hasRef || r.ref
			}
			if hasRef {
				assert.Len(t, refs, 2, "a dashed reference line in each panel")
			} else {
				assert.Empty(t, refs)
			}
		})
	}
}

func width(t *testing.T, n svgNode) float64 {
	t.Helper()
	w, err := strconv.ParseFloat(n.attr("width"), 64)
	require.NoError(t, err)
	return w
}

func longest(t *testing.T, bars []svgNode) svgNode {
	t.Helper()
	best := bars[0]
	for _, b := range bars {
		if width(t, b) > width(t, best) {
			best = b
		}
	}
	return best
}

// TestChartRows: the picture shows every measured row in the table's
// order, marks the C loop, and leaves out skipped rows and the contrast
// row, whose rate would flatten the others.
func TestChartRows(t *testing.T) {
	sum := func(rate, p99 float64) []bench.Summary {
		var s bench.Summary
		s.Rate, s.P99MS = rate, p99
		return []bench.Summary{s}
	}
	c := &row{name: "c", role: reference, server: "C loop", results: sum(13000, 2.4)}
	rows := []*row{
		{name: "go", role: reference, server: "Go", results: sum(12000, 3.1)},
		c,
		{name: "noresolve", role: measured, server: "smile", skip: "not run"},
		{name: "smile", role: measured, server: "smile", results: sum(11000, 2.7)},
		{name: "sequential", role: contrast, server: "seq", results: sum(0.5, 4002)},
	}
	got := chartRows(table{rows: rows, c: c})
	var names []string
	for _, r := range got {
		names = append(names, r.name)
		assert.Equal(t, r.name == "c", r.ref, "row %s", r.name)
	}
	assert.Equal(t, []string{"go", "c", "smile"}, names)
	assert.Equal(t, 11000.0, got[2].rate)
	assert.Equal(t, 2.7, got[2].p99)
	assert.True(t, strings.HasPrefix(got[1].server, "C loop"))
}
