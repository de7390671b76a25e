package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest/doccheck"
	"github.com/smile-sockets/smile/internal/smiletest/matrix"
)

// siteNode is a mesh node of TestMeshAcrossSites and its site.
type siteNode struct {
	*meshNode
	site string
}

// meshRow is a node's /mesh.json, its cells in full.
type meshRow struct {
	Node         string     `json:"node"`
	Destinations []meshCell `json:"destinations"`
}

// TestMeshAcrossSites runs docs/datagrams.md's table of the mesh across two
// sites: two mesh nodes in each of two routed sites (sites), dual-stack,
// their datagrams on, the peers given as addresses (a network alias does
// not cross the router). The router's routes towards both sites are 1,280
// bytes (netfault route-mtu) while every link is 1,500, so what it
// forwards meets a narrower hop and it says so, in both directions, and
// frames within a site are full-size. Every ordered pair × family across
// must show path MTU 1280 reported by the router's address in the
// sender's site, one hop, in full in /matrix.json; every pair within a
// site its interface's MTU, no hop, a code alone; none lossy or failing.
func TestMeshAcrossSites(t *testing.T) {
	t.Parallel()
	requireImages(t)
	requireNetfault(t)
	began := time.Now()
	s := newSites(t)
	layout := []struct {
		name, site string
		nw         *testNet
		num        int
	}{
		{"a-1", matrix.SiteA, s.a, 100}, {"a-2", matrix.SiteA, s.a, 101},
		{"b-1", matrix.SiteB, s.b, 100}, {"b-2", matrix.SiteB, s.b, 101},
	}
	narrow := []string{"route-mtu", "-to", "1280", s.a.v4.String(), s.a.v6.String(), s.b.v4.String(), s.b.v6.String()}
	specs := []spec{s.router(t, narrow...)}
	var peers []string
	for _, l := range layout {
		v4, v6 := l.nw.host(l.num)
		peers = append(peers, netip.AddrPortFrom(v4, 7890).String(), netip.AddrPortFrom(v6, 7890).String())
		specs = append(specs, s.host(t, l.nw, l.num, hostOpts{extra: publishHTTP()}))
	}
	hosts := runAll(t, specs...)[1:]
	servers := make([]spec, len(layout))
	for i, l := range layout {
		servers[i] = serverSpec(t, serverOpts{args: []string{"-listen", ":" + port, "-mesh", strings.Join(peers, ","),
			"-mesh-interval", meshInterval.String(), "-mesh-timeout", meshTimeout.String(), "-http", ":" + meshHTTPPort,
			"-mesh-node", l.name, "-resolve=false"}, holder: hosts[i].GetContainerID(), started: 1})
	}
	ctrs := runAll(t, servers...)
	nodes := make([]siteNode, len(layout))
	plain := make([]*meshNode, len(layout))
	for i, l := range layout {
		v4, v6 := l.nw.host(l.num)
		nodes[i] = siteNode{&meshNode{name: l.name, ctr: ctrs[i], v4: v4, v6: v6, http: publishedHTTP(t, hosts[i])}, l.site}
		plain[i] = nodes[i].meshNode
	}
	up := time.Now()
	t.Logf("two sites, a router and four nodes up in %v", up.Sub(began).Round(time.Millisecond))

	routers := map[string]*testNet{matrix.SiteA: s.a, matrix.SiteB: s.b}
	want := map[pair]matrix.MeshSitesRow{}
	for _, src := range nodes {
		for _, dst := range nodes {
			if src.name == dst.name {
				continue
			}
			i := slices.IndexFunc(matrix.MeshSites, func(r matrix.MeshSitesRow) bool { return r.From == src.site && r.To == dst.site })
			require.GreaterOrEqual(t, i, 0, "no row from %s to %s", src.site, dst.site)
			for _, f := range meshFamilies {
				want[pair{src.name, dst.name, f}] = matrix.MeshSites[i]
			}
		}
	}
	// routerIn is the router's address of the family in a site.
	routerIn := func(site, family string) string {
		r4, r6 := s.routerAddrs(routers[site])
		return map[string]netip.Addr{"ipv4": r4, "ipv6": r6}[family].String()
	}

	var diff []string
	var m meshMatrix
	var rows map[pair]meshCell
	for deadline := up.Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var now []string
		m, rows, now = readSites(plain)
		if now == nil {
			now = sitesMismatches(want, m, rows, routerIn)
		}
		if len(now) != len(diff) {
			t.Logf("%v after the nodes started, %d differences: %s", time.Since(up).Round(time.Millisecond), len(now),
				strings.Join(now[:min(len(now), 2)], "; "))
		}
		if diff = now; len(diff) == 0 || time.Now().After(deadline) {
			break
		}
	}
	require.True(t, len(diff) == 0, "after %v, the cells that differ from docs/datagrams.md's table of the mesh across two sites:\n%s\n%s",
		time.Since(up).Round(time.Millisecond), strings.Join(diff, "\n"), render(plain, m))
	shown := sitesCells(plain, rows)
	t.Logf("every cell as its table says %v after the nodes started (-mesh-interval %v); their /mesh.json:\n%s",
		time.Since(up).Round(time.Millisecond), meshInterval, shown)
	doccheck.CheckSample(t, "../docs/datagrams.md", "mesh-sites", shown,
		doccheck.Rule{Re: regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b`), Repl: "<ipv4>"},
		doccheck.Rule{Re: regexp.MustCompile(`\b[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}\b`), Repl: "<ipv6>"})
	t.Logf("whole test %v", time.Since(began).Round(time.Millisecond))
}

// readSites reads the first node's /matrix.json and every node's
// /mesh.json, its cells by pair; a failed read is the one difference.
func readSites(nodes []*meshNode) (meshMatrix, map[pair]meshCell, []string) {
	var m meshMatrix
	raw, err := httpGet(context.Background(), "http://"+nodes[0].http+"/matrix.json")
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		return m, nil, []string{"/matrix.json of " + nodes[0].name + ": " + err.Error()}
	}
	rows := map[pair]meshCell{}
	for _, n := range nodes {
		var r meshRow
		raw, err := httpGet(context.Background(), "http://"+n.http+"/mesh.json")
		if err == nil {
			err = json.Unmarshal(raw, &r)
		}
		if err != nil {
			return m, nil, []string{"/mesh.json of " + n.name + ": " + err.Error()}
		}
		for _, c := range r.Destinations {
			rows[pair{n.name, c.Host, c.Family}] = c
		}
	}
	return m, rows, nil
}

// sitesMismatches lists, a line naming the pair each, how the matrix and
// the nodes' own rows differ from want; routerIn gives the router's
// address of a family in a site.
func sitesMismatches(want map[pair]matrix.MeshSitesRow, m meshMatrix, rows map[pair]meshCell, routerIn func(site, family string) string) []string {
	var out []string
	if m.SchemaVersion != 2 || m.Type != "mesh_matrix" {
		out = append(out, fmt.Sprintf("schema_version %d, type %q: want 2, mesh_matrix", m.SchemaVersion, m.Type))
	}
	cells := cellsOf(m)
	for k, w := range want {
		by := ""
		if w.ReportedBy != "" {
			by = routerIn(w.ReportedBy, k.family)
		}
		c, ok := rows[k]
		if !ok {
			out = append(out, fmt.Sprintf("%v: no cell in %s's /mesh.json", k, k.src))
		} else if d := sitesCellDiff(c, w, by); d != "" {
			out = append(out, fmt.Sprintf("%v in %s's /mesh.json: %s", k, k.src, d))
		}
		got := cells[k]
		switch full := len(got) == 1 && got[0].LossRatio != nil; {
		case len(got) != 1:
			out = append(out, fmt.Sprintf("%v: %d cells in /matrix.json, want 1", k, len(got)))
		case w.Full && !full:
			out = append(out, fmt.Sprintf("%v: a code alone in /matrix.json, want the cell in full (its path is narrower)", k))
		case full:
			if d := sitesCellDiff(got[0], w, by); d != "" {
				out = append(out, fmt.Sprintf("%v in /matrix.json: %s", k, d))
			}
		case !got[0].OK:
			out = append(out, fmt.Sprintf("%v in /matrix.json: class %q, want ok", k, got[0].Class))
		}
	}
	for k := range cells {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("%v: a cell /matrix.json should not have", k))
		}
	}
	slices.Sort(out)
	return out
}

// sitesCellDiff says how a full cell differs from its row, "" if not at
// all; by is the address that must have reported the path MTU.
func sitesCellDiff(c meshCell, w matrix.MeshSitesRow, by string) string {
	var d []string
	if !c.OK {
		d = append(d, fmt.Sprintf("class %q (%s), want ok", c.Class, c.Error))
	}
	if c.LossRatio == nil || *c.LossRatio != 0 {
		d = append(d, fmt.Sprintf("loss_ratio %s, want 0", ptrString(c.LossRatio)))
	}
	if c.Hops == nil || *c.Hops != w.Hops {
		d = append(d, fmt.Sprintf("hops %s, want %d", ptrString(c.Hops), w.Hops))
	}
	if c.PathMTU != w.PathMTU || c.InterfaceMTU != w.InterfaceMTU {
		d = append(d, fmt.Sprintf("path_mtu %d of interface_mtu %d, want %d of %d", c.PathMTU, c.InterfaceMTU, w.PathMTU, w.InterfaceMTU))
	}
	if c.PMTUReportedBy != by {
		d = append(d, fmt.Sprintf("pmtu_reported_by %q, want %q", c.PMTUReportedBy, by))
	}
	if c.BlackHole || c.PMTUError != "" {
		d = append(d, fmt.Sprintf("black_hole %v, pmtu_error %q, want neither", c.BlackHole, c.PMTUError))
	}
	return strings.Join(d, "; ")
}

// ptrString is *p for a message, "absent" for a field the JSON left out.
func ptrString[T any](p *T) string {
	if p == nil {
		return "absent"
	}
	return fmt.Sprint(*p)
}

// sitesCells is a line per cell of the nodes' own rows, in the nodes'
// order, for the log and docs/datagrams.md.
func sitesCells(nodes []*meshNode, rows map[pair]meshCell) string {
	var b strings.Builder
	for _, src := range nodes {
		for _, dst := range nodes {
			for _, f := range meshFamilies {
				c, ok := rows[pair{src.name, dst.name, f}]
				if !ok {
					continue
				}
				by := c.PMTUReportedBy
				if by == "" {
					by = "-"
				}
				fmt.Fprintf(&b, "%s → %s %s: ok %v, loss_ratio %s, hops %s, path_mtu %d, interface_mtu %d, pmtu_reported_by %s\n",
					src.name, dst.name, f, c.OK, ptrString(c.LossRatio), ptrString(c.Hops), c.PathMTU, c.InterfaceMTU, by)
			}
		}
	}
	return b.String()
}
