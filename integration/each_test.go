package integration

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/client"
	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/doccheck"
)

// TestEach probes every address of the server's name separately: Docker's
// DNS gives the alias one A and one AAAA record, so -each must show both
// families and the name itself, and expose the one family a server does
// not listen on. The clients are processes in one host (hostClient).
func TestEach(t *testing.T) {
	t.Parallel()
	requireImages(t)
	nw := newNetwork(t)
	clients, _ := clientHost(t, nw)
	cases := []struct {
		name   string
		listen []string
		exit   int
		v6     string // result of the IPv6 row
		tally  string
	}{
		{"dual-stack server", nil, 0, "ok", "3 targets: 3 ok, 0 failed"},
		{"IPv4-only server", []string{"-listen", "0.0.0.0:7890"}, 1, "refused", "3 targets: 2 ok, 1 failed"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			alias := "smile-each-" + randomHex(3)
			srv := startServer(t, serverOpts{args: c.listen, net: nw, aliases: []string{alias}, hostNum: 230 + i, started: 1})
			v4, v6 := addrs(t, srv, nw)

			res := hostClient(t, clients, "-each", alias, port)
			assert.Equal(t, c.exit, res.exit, "%v", res)
			lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
			require.Len(t, lines, 5, "%v", res)
			v4t, v6t := v4.String()+":"+port, "["+v6.String()+"]:"+port
			assert.Regexp(t, `^`+regexp.QuoteMeta(v4t)+`\s+address\s+`+regexp.QuoteMeta(v4t)+`\s+IPv4\s+ok\s+1/1\s`, lines[1], "%v", res)
			assert.Regexp(t, `^`+regexp.QuoteMeta(v6t)+`\s+address\s+`+regexp.QuoteMeta(v6t)+`\s+IPv6\s+`+c.v6+`\s`, lines[2], "%v", res)
			assert.Regexp(t, `^`+regexp.QuoteMeta(alias+":"+port)+`\s+name\s+\S+\s+IPv[46]\s+ok\s+1/1\s`, lines[3], "%v", res)
			assert.Equal(t, c.tally, lines[4])

			res = hostClient(t, clients, "-each", "-json", "-count", "3", alias, port)
			assert.Equal(t, c.exit, res.exit, "%v", res)
			objs := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
			require.Len(t, objs, 4, "%v", res)
			smiletest.JSONLines(t, res.stdout)
			var row client.EachRow
			require.NoError(t, json.Unmarshal([]byte(objs[1]), &row))
			assert.Equal(t, client.TypeEach, row.Type)
			assert.Equal(t, v6t, row.Address)
			assert.Equal(t, client.FamilyIPv6, row.Family)
			assert.Equal(t, c.v6 == "ok", row.OK)
			assert.Equal(t, 3, row.Probes)
			if c.v6 != "ok" {
				assert.Equal(t, c.v6, row.Class)
				assert.Zero(t, row.OKProbes)
				assert.Equal(t, 3, row.FailedProbes)
			}
			var sum client.EachSummary
			require.NoError(t, json.Unmarshal([]byte(objs[3]), &sum))
			assert.Equal(t, client.TypeEachSummary, sum.Type)
			assert.Equal(t, c.exit == 0, sum.OK)
		})
	}
}

// headlessName is the name the Job's pods container greets in a cluster,
// short of its cluster domain: the headless Service's.
const headlessName = "smile-server-headless"

// TestEachSeveralServers is the Kubernetes Job's pods container without a
// cluster: three servers share one name on a dual-stack network, as the
// pods behind a headless Service do (one A and one AAAA record per
// server), and the client runs with the Job's arguments. Every server is
// greeted over both families and through the name, and the run is the
// sample "What the Job prints" of deploy/kubernetes/README.md shows, but
// for the addresses and times.
func TestEachSeveralServers(t *testing.T) {
	t.Parallel()
	requireImages(t)
	nw := newNetwork(t)
	var want []string
	for i := range 3 {
		srv := startServer(t, serverOpts{net: nw, aliases: []string{headlessName}, hostNum: 200 + i, started: 1})
		v4, v6 := addrs(t, srv, nw)
		want = append(want, v4.String()+":"+port, "["+v6.String()+"]:"+port)
	}

	res, _ := runClient(t, nw, "-each", "-json", "-expect", "Smile from the server", headlessName, port)
	require.Equal(t, 0, res.exit, "%v", res)
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	require.Len(t, lines, len(want)+2, "an object per address, the name's and the summary: %v", res)
	smiletest.JSONLines(t, res.stdout)
	var got []string
	for _, l := range lines[:len(want)] {
		var row struct {
			Target, Address, Via string
			OK                   bool
		}
		require.NoError(t, json.Unmarshal([]byte(l), &row), l)
		assert.Equal(t, "address", row.Via, l)
		assert.True(t, row.OK, l)
		assert.Equal(t, row.Target, row.Address, l)
		got = append(got, row.Address)
	}
	assert.ElementsMatch(t, want, got, "every address of every server, once")
	assert.Contains(t, lines[len(want)], `"via":"name"`)
	assert.Contains(t, lines[len(want)+1], `"type":"each_summary"`)

	doccheck.CheckSample(t, "../deploy/kubernetes/README.md", "each-json", res.stdout,
		doccheck.Rule{Re: regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b`), Repl: "<ipv4>"},
		doccheck.Rule{Re: regexp.MustCompile(`\[[0-9a-f:]+\]`), Repl: "[<ipv6>]"},
		doccheck.MillisecondFields)
}
