//go:build linux

package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// chartRow is one bar pair of the picture: a row's medians.
type chartRow struct {
	name   string  // the row's short name, as the table's first column
	server string  // what serves, as the table says it
	loader string  // what loads it
	rate   float64 // median conn/s
	p99    float64 // median p99, ms
	ref    bool    // the reference every bar is drawn against (the C loop)
}

// chart is what writeSVG draws: a title, a line saying where the numbers
// came from, and the rows.
type chart struct {
	title, note string
	rows        []chartRow
}

// Sizes of the picture, in SVG user units (pixels).
const (
	svgWidth    = 960
	svgLabelW   = 330 // the rows' names and servers, left of the bars
	svgPanelW   = 270 // one panel's bars
	svgPanelGap = 40
	svgBarH     = 22
	svgRowGap   = 10
	svgTop      = 92 // title, note and the panels' headings
)

// chartRows are the rows the picture shows: every measured row, in the
// table's order, with the C loop marked as the reference. A row that was
// skipped, and the contrast rows (whose rate is five orders of magnitude
// lower, which would flatten every other bar), are left out; the table
// printed beside the picture has them.
func chartRows(t table) []chartRow {
	var rows []chartRow
	for _, rw := range t.rows {
		if rw.skip != "" || rw.role == contrast || rw.group == "udp" {
			continue
		}
		rows = append(rows, chartRow{name: rw.name, server: rw.server, loader: rw.loader.name,
			rate: rw.med(connRate), p99: rw.med(p99), ref: rw == t.c})
	}
	return rows
}

// writeSVG draws c as a plain SVG: for each row a bar of its conn/s and a
// bar of its p99, each labelled with its value, and a dashed line through
// both panels at the reference row's values, so that a row is read against
// the C loop at a glance. Every number in it comes from c.
func writeSVG(w io.Writer, c chart) error {
	var ref *chartRow
	maxRate, maxP99 := 0.0, 0.0
	for i, r := range c.rows {
		maxRate, maxP99 = max(maxRate, r.rate), max(maxP99, r.p99)
		if r.ref {
			ref = &c.rows[i]
		}
	}
	if maxRate <= 0 {
		maxRate = 1
	}
	if maxP99 <= 0 {
		maxP99 = 1
	}
	height := svgTop + len(c.rows)*(svgBarH+svgRowGap) + 40
	rateX := svgLabelW
	p99X := svgLabelW + svgPanelW + svgPanelGap
	// Leave room right of a full bar for its label.
	scale := float64(svgPanelW - 70)

	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, `<title>%s</title>`+"\n", esc(c.title))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", svgWidth, height)
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="16" font-weight="bold">%s</text>`+"\n", esc(c.title))
	fmt.Fprintf(&b, `<text x="10" y="42" fill="#555555">%s</text>`+"\n", esc(c.note))
	fmt.Fprintf(&b, `<text x="%d" y="76" font-weight="bold">conn/s (higher is better)</text>`+"\n", rateX)
	fmt.Fprintf(&b, `<text x="%d" y="76" font-weight="bold">p99 ms, connect to EOF (lower is better)</text>`+"\n", p99X)
	for i, r := range c.rows {
		y := svgTop + i*(svgRowGap+svgBarH)
		fill := "#4878a8"
		if r.ref {
			fill = "#888888"
		}
		fmt.Fprintf(&b, `<g class="row" data-row="%s">`+"\n", esc(r.name))
		fmt.Fprintf(&b, `<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y+10, esc(r.name))
		fmt.Fprintf(&b, `<text x="10" y="%d" font-size="10" fill="#555555">%s; %s</text>`+"\n", y+21, esc(r.server), esc(r.loader))
		rw := r.rate / maxRate * scale
		fmt.Fprintf(&b, `<rect class="bar conn" x="%d" y="%d" width="%.1f" height="%d" fill="%s" data-value="%.0f"/>`+"\n", rateX, y, rw, svgBarH, fill, r.rate)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(rateX)+rw+4, y+15, esc(rateLabel(r.rate)))
		pw := r.p99 / maxP99 * scale
		fmt.Fprintf(&b, `<rect class="bar p99" x="%d" y="%d" width="%.1f" height="%d" fill="%s" data-value="%.3f"/>`+"\n", p99X, y, pw, svgBarH, fill, r.p99)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%.3f</text>`+"\n", float64(p99X)+pw+4, y+15, r.p99)
		b.WriteString("</g>\n")
	}
	bottom := svgTop + len(c.rows)*(svgRowGap+svgBarH)
	if ref != nil {
		for _, x := range []float64{float64(rateX) + ref.rate/maxRate*scale, float64(p99X) + ref.p99/maxP99*scale} {
			fmt.Fprintf(&b, `<line class="reference" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333333" stroke-dasharray="4 3"/>`+"\n", x, svgTop-6, x, bottom)
		}
		fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555555">grey bars and dashed lines: row %s, %s, the reference</text>`+"\n", bottom+20, esc(ref.name), esc(ref.server))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// rateLabel prints a rate as the table does.
func rateLabel(rate float64) string {
	if rate < 100 {
		return fmt.Sprintf("%.2f/s", rate)
	}
	return fmt.Sprintf("%.0f/s", rate)
}

// esc escapes text for XML character data and attribute values.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
