package client

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/smile-sockets/smile/internal/latency"
	"github.com/smile-sockets/smile/internal/netaddr"
)

// runEach probes every address of the host separately, then the name
// itself through the normal dialer, so one unreachable address (one node,
// one family) cannot hide behind a working one.
func runEach(ctx context.Context, p *prober, cfg *Config, rep *junitReport, stdout, stderr io.Writer) int {
	type job struct{ target, network, via string }
	var jobs []job
	port := cfg.Target.Port
	if cfg.Target.Kind == netaddr.Name {
		lctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		addrs, err := p.res.LookupNetIP(lctx, map[string]string{"tcp": "ip", "tcp4": "ip4", "tcp6": "ip6"}[cfg.network()], cfg.Target.Text)
		cancel()
		if err != nil {
			r := result{target: cfg.Target.String(), err: err, class: classDNS, phase: "resolve"}
			rows := []EachRow{rowOf(&r, "name", &stats{probes: 1, last: r})}
			if cfg.UDP {
				rows[0].Protocol = "udp"
			}
			rep.addRows(rows, []time.Duration{0})
			return reportEach(stdout, stderr, cfg, rows)
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
	rows := make([]EachRow, len(jobs))
	took := make([]time.Duration, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cfg.UDP {
				r := p.udpProbe(ctx, j.target, j.network)
				rows[i], took[i] = r.row(j.via), r.took
				return
			}
			st := p.repeat(ctx, j.target, j.network, nil)
			if st.probes == 0 { // interrupted before the first probe
				st.last = result{target: j.target, err: ctx.Err(), class: classOther, phase: "connect"}
			}
			rows[i] = rowOf(&st.last, j.via, st)
			rows[i].Target = j.target
			if ap, err := netip.ParseAddrPort(j.target); err == nil && rows[i].Address == "" {
				// An address interrupted before it was dialled is still the
				// row's address (docs/json.md: absent only for a name).
				rows[i].Address, rows[i].Family = j.target, Family(ap.Addr())
			}
			took[i] = st.elapsed
		}()
	}
	wg.Wait()
	rep.addRows(rows, took)
	return reportEach(stdout, stderr, cfg, rows)
}

// rowOf is the -each row of a target's probes, st, whose last failure (or
// last probe) is last.
func rowOf(last *result, via string, st *stats) EachRow {
	row := EachRow{Header: NewHeader(TypeEach), Target: last.target, Via: via, Address: st.addr, Family: familyJSON(st.family),
		OK: st.probes > 0 && st.okCount() == st.probes, Probes: st.probes, OKProbes: st.okCount(), FailedProbes: st.probes - st.okCount()}
	if !row.OK {
		row.Class, row.Error, row.Stage, row.Attempts = last.class, last.message(), last.phase, attemptsJSON(last.attempts)
	}
	if st.okCount() > 0 {
		row.ConnectMS, row.TotalMS = latency.MS(st.connects.Percentile(50)), latency.MS(st.totals.Percentile(50))
	}
	return row
}

func reportEach(stdout, stderr io.Writer, cfg *Config, rows []EachRow) int {
	failed := 0
	for _, r := range rows {
		if !r.OK {
			failed++
		}
	}
	if cfg.JSON {
		enc := newEncoder(stdout)
		for _, r := range rows {
			_ = enc.Encode(r)
		}
		_ = enc.Encode(EachSummary{Header: NewHeader(TypeEachSummary), Target: cfg.Target.String(), OK: failed == 0,
			Targets: len(rows), OKTargets: len(rows) - failed, FailedTargets: failed})
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		if cfg.UDP {
			printUDPRows(tw, rows)
		} else {
			fmt.Fprintln(tw, "TARGET\tVIA\tADDRESS\tFAMILY\tRESULT\tPROBES\tCONNECT\tTOTAL")
		}
		for _, r := range rows {
			if cfg.UDP {
				break
			}
			res := "ok"
			if !r.OK {
				res = r.Class
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%.3fms\t%.3fms\n", r.Target, r.Via, dash(r.Address), dash(familyText[r.Family]), res, r.OKProbes, r.Probes, r.ConnectMS, r.TotalMS)
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

// familyText is a family as the -each table spells it for a person.
var familyText = map[string]string{FamilyIPv4: "IPv4", FamilyIPv6: "IPv6"}
