package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"text/tabwriter"

	"github.com/smile-sockets/smile/internal/latency"
	"github.com/smile-sockets/smile/internal/netaddr"
)

// eachRow is one line of the -each table and one -json object.
type eachRow struct {
	Target   string `json:"target"`
	Address  string `json:"address,omitempty"`
	Family   string `json:"family,omitempty"`
	Via      string `json:"via"` // "address" or "name"
	OK       bool   `json:"ok"`
	Probes   int    `json:"probes"`
	OKProbes int    `json:"ok_probes"`
	Class    string `json:"class,omitempty"`
	Stage    string `json:"stage,omitempty"` // where the last failure happened: resolve, connect, read, expect
	Error    string `json:"error,omitempty"`
	// Attempts are the addresses of the name row's last failure, each
	// with its outcome.
	Attempts  []attemptJSON `json:"attempts,omitempty"`
	ConnectMS float64       `json:"connect_ms"`
	TotalMS   float64       `json:"total_ms"`
}

// runEach probes every address of the host separately, then the name
// itself through the normal dialer, so one unreachable address (one node,
// one family) cannot hide behind a working one.
func runEach(ctx context.Context, p *prober, cfg *Config, stdout, stderr io.Writer) int {
	type job struct{ target, network, via string }
	var jobs []job
	port := cfg.Target.Port
	if cfg.Target.Kind == netaddr.Name {
		lctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		addrs, err := p.res.LookupNetIP(lctx, map[string]string{"tcp": "ip", "tcp4": "ip4", "tcp6": "ip6"}[cfg.network()], cfg.Target.Text)
		cancel()
		if err != nil {
			r := result{target: cfg.Target.String(), err: err, class: classDNS, phase: "resolve"}
			return reportEach(stdout, stderr, cfg, []eachRow{rowOf(&r, "name", &stats{probes: 1, last: r})})
		}
		for _, a := range netaddr.Unique(addrs) {
			network := "tcp6"
			if a.Is4() {
				network = "tcp4"
			}
			jobs = append(jobs, job{netaddr.JoinHostPort(a.String(), port), network, "address"})
		}
	}
	jobs = append(jobs, job{cfg.Target.String(), cfg.network(), "name"})
	if cfg.Target.Kind != netaddr.Name {
		jobs[len(jobs)-1].via = "address"
	}
	rows := make([]eachRow, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := p.repeat(ctx, j.target, j.network, nil)
			rows[i] = rowOf(&st.last, j.via, st)
			rows[i].Target = j.target
		}()
	}
	wg.Wait()
	return reportEach(stdout, stderr, cfg, rows)
}

func rowOf(last *result, via string, st *stats) eachRow {
	row := eachRow{Target: last.target, Address: st.addr, Family: st.family, Via: via,
		Probes: st.probes, OKProbes: st.okCount(), OK: st.probes > 0 && st.okCount() == st.probes}
	if !row.OK {
		row.Class, row.Error, row.Stage, row.Attempts = last.class, last.message(), last.phase, attemptsJSON(last.attempts)
	}
	if st.okCount() > 0 {
		row.ConnectMS, row.TotalMS = latency.MS(st.connects.Percentile(50)), latency.MS(st.totals.Percentile(50))
	}
	return row
}

func reportEach(stdout, stderr io.Writer, cfg *Config, rows []eachRow) int {
	failed := 0
	for _, r := range rows {
		if !r.OK {
			failed++
		}
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		for _, r := range rows {
			_ = enc.Encode(r)
		}
		_ = enc.Encode(struct {
			Summary bool   `json:"summary"`
			Target  string `json:"target"`
			Targets int    `json:"targets"`
			OK      int    `json:"ok"`
			Failed  int    `json:"failed"`
		}{true, cfg.Target.String(), len(rows), len(rows) - failed, failed})
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TARGET\tVIA\tADDRESS\tFAMILY\tRESULT\tPROBES\tCONNECT\tTOTAL")
		for _, r := range rows {
			res := "ok"
			if !r.OK {
				res = r.Class
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%.3fms\t%.3fms\n", r.Target, r.Via, dash(r.Address), dash(r.Family), res, r.OKProbes, r.Probes, r.ConnectMS, r.TotalMS)
		}
		_ = tw.Flush()
		fmt.Fprintf(stdout, "%d targets: %d ok, %d failed\n", len(rows), len(rows)-failed, failed)
		for _, r := range rows {
			if !r.OK {
				fmt.Fprintf(stderr, "smile-client: %s\n", r.Error)
			}
		}
	}
	if failed > 0 {
		return exitFailure
	}
	return exitOK
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
