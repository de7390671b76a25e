package client

import (
	"context"
	"fmt"
	"io"

	"github.com/smile-sockets/smile/internal/latency"
)

// runUDP is -udp without -each: one target, its greeting printed as the
// TCP client prints it, or a series' or path MTU search's statistics.
func runUDP(ctx context.Context, p *prober, cfg *Config, rep *junitReport, stdout, stderr io.Writer) int {
	r := p.udpProbe(ctx, cfg.Target.String(), cfg.network())
	rep.addUDP(&r)
	switch {
	case cfg.JSON:
		_ = newEncoder(stdout).Encode(r.json())
	case r.series != nil:
		printSeries(stdout, &r)
	case r.pmtu != nil:
		printPMTU(stdout, &r)
	case r.ok():
		data := r.data
		if isTerminal(stdout) {
			data = escapeControls(data)
		}
		printLines(stdout, data)
	}
	if !r.ok() {
		if !cfg.JSON {
			fmt.Fprintf(stderr, "smile-client: %s\n", r.message())
		}
		return exitFailure
	}
	return exitOK
}

// json is r as -udp -json prints it.
func (r *udpResult) json() Datagrams {
	j := Datagrams{Header: NewHeader(TypeDatagrams), Target: r.target, Address: r.addr, Family: familyJSON(r.family),
		OK: r.ok(), TotalMS: latency.MS(r.took), PathQuality: NewPathQuality(r.series, r.pmtu, r.ttl)}
	if r.data != nil {
		g := string(r.data)
		j.Greeting, j.Bytes, j.RTTMS = &g, len(r.data), latency.MS(r.rtt)
	}
	if !r.ok() {
		j.Class, j.Stage, j.Error = r.class, r.phase, r.message()
	}
	j.Attempts = attemptsJSON(r.attempts)
	return j
}

// printSeries is -udp -count's summary, as ping's:
//
//	--- 127.0.0.1:7890 smile datagram statistics ---
//	100 sent, 100 received, 0.0% loss, 0 duplicates, 0 reordered in 0.105s
//	rtt p50 0.051ms p90 0.070ms p99 0.120ms max 0.130ms
//	hops 0 (ttl 64)
func printSeries(w io.Writer, r *udpResult) {
	s := r.series
	fmt.Fprintf(w, "--- %s smile datagram statistics ---\n", r.target)
	fmt.Fprintf(w, "%d sent, %d received, %.1f%% loss, %d duplicates, %d reordered in %.3fs\n",
		s.Sent, s.Received, 100*s.Loss(), s.Duplicates, s.Reordered, r.took.Seconds())
	if len(s.RTTs) > 0 {
		fmt.Fprintf(w, "rtt p50 %.3fms p90 %.3fms p99 %.3fms max %.3fms\n",
			latency.MS(s.RTT(50)), latency.MS(s.RTT(90)), latency.MS(s.RTT(99)), latency.MS(s.RTTs[len(s.RTTs)-1]))
	}
	if q := NewPathQuality(s, nil, -1); q.Hops != nil {
		fmt.Fprintf(w, "hops %d (ttl %d)\n", *q.Hops, s.TTL)
	}
}

// printPMTU is -pmtu's result:
//
//	--- 10.28.2.2:7890 smile path MTU ---
//	path MTU 1280 over IPv4 (interface MTU 1500): too big reported by 10.28.1.1 (MTU 1280)
func printPMTU(w io.Writer, r *udpResult) {
	m := r.pmtu
	fmt.Fprintf(w, "--- %s smile path MTU ---\n", r.target)
	how := "every size up to it crossed"
	switch {
	case m.BlackHole:
		how = blackHoleText(m)
	case m.ReportedBy.IsValid():
		how = fmt.Sprintf("too big reported by %s (MTU %d)", m.ReportedBy, m.ReportedMTU)
	case m.PathMTU < m.InterfaceMTU:
		how = "this host's own stack refused larger datagrams"
	}
	fmt.Fprintf(w, "path MTU %d over %s (interface MTU %d): %s\n", m.PathMTU, r.family, m.InterfaceMTU, how)
}

// row is r as a -each row.
func (r *udpResult) row(via string) EachRow {
	j := r.json()
	row := EachRow{Header: NewHeader(TypeEach), Target: r.target, Via: via, Address: r.addr, Family: j.Family,
		OK: j.OK, Class: j.Class, Stage: j.Stage, Error: j.Error, Probes: 1, TotalMS: j.TotalMS,
		Protocol: "udp", PathQuality: j.PathQuality}
	if !j.OK {
		row.Attempts = j.Attempts
	}
	if r.series != nil {
		row.Probes, row.OKProbes = r.series.Sent, r.series.Received
	} else if r.ok() {
		row.OKProbes = 1
	}
	row.FailedProbes = row.Probes - row.OKProbes
	return row
}

// printUDPRows is -udp -each's table: what was measured, a dash for what
// was not.
func printUDPRows(w io.Writer, rows []EachRow) {
	fmt.Fprintln(w, "TARGET\tVIA\tADDRESS\tFAMILY\tRESULT\tRECEIVED\tLOSS\tRTT\tHOPS\tPMTU")
	for _, r := range rows {
		res := "ok"
		if !r.OK {
			res = r.Class
		}
		loss, rtt, hops, pmtu := "-", fmt.Sprintf("%.3fms", r.TotalMS), "-", "-"
		if r.Loss != nil {
			loss, rtt = fmt.Sprintf("%.1f%%", 100*r.LossRatio), fmt.Sprintf("%.3fms", r.RTTP50MS)
		}
		if r.Hops != nil {
			hops = fmt.Sprint(*r.Hops)
		}
		if r.MTU != nil {
			pmtu = fmt.Sprint(r.PathMTU)
			if r.PMTUReportedBy != "" {
				pmtu += " by " + r.PMTUReportedBy
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", r.Target, r.Via, dash(r.Address),
			dash(familyText[r.Family]), res, r.OKProbes, r.Probes, loss, rtt, hops, pmtu)
	}
}
