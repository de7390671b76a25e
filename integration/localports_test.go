package integration

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// TestLocalPortsExhausted gives a client container one local port and two
// probes in flight to a frozen server: the first holds the port, the
// second cannot get one (EADDRNOTAVAIL). That is the client host's own
// limit, not the path: its class is error, with words that say so, never
// unreachable.
func TestLocalPortsExhausted(t *testing.T) {
	t.Parallel()
	requireImages(t)
	nw := newNetwork(t)
	srv := startServer(t, serverOpts{net: nw, hostNum: 200, started: 1})
	v4, _ := addrs(t, srv, nw)
	paused(&faultEnv{t: t, srv: srv})

	res, _ := runClientWith(t, nw, map[string]string{"net.ipv4.ip_local_port_range": "40000 40000"},
		"-json", "-count", "2", "-concurrency", "2", "-read-timeout", "1s", v4.String(), port)
	t.Logf("%v", res)
	assert.Equal(t, 1, res.exit, "%v", res)
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	require.Len(t, lines, 3, "two probes and the summary: %v", res)
	smiletest.JSONLines(t, res.stdout)
	var classes []string
	for _, l := range lines[:2] {
		var p struct{ Class, Stage, Error string }
		require.NoError(t, json.Unmarshal([]byte(l), &p))
		classes = append(classes, p.Class+"/"+p.Stage)
		if p.Class == "error" {
			assert.Equal(t, "can't connect to "+v4.String()+":"+port+
				": error: no local port or address free to connect from (cannot assign requested address)", p.Error)
		}
	}
	assert.ElementsMatch(t, []string{"timeout/read", "error/connect"}, classes, "%v", res)
}
