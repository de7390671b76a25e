package mesh_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest/doccheck"
	"github.com/smile-sockets/smile/mesh"
)

// TestMeshSamples runs the example of docs/mesh.md (node-11, node-12 and
// node-13 on 127.0.0.11-13, and 127.0.0.14 listed but absent, rounds 2s
// apart) and holds the page's samples of node-11's log and /mesh.json to
// that run. The free ports it used are written as 7890 and 8080; the
// comparison ignores times and round numbers.
func TestMeshSamples(t *testing.T) {
	t.Parallel()
	port, web := ports(t)
	var peers []string
	for n := 11; n <= 14; n++ {
		peers = append(peers, fmt.Sprintf("127.0.0.%d:%d", n, port))
	}
	spec := strings.Join(peers, ",")
	args := []string{"-mesh-interval", "2s", "-mesh-timeout", "1s"}
	// node-11 last, so that its first round finds the others up and its
	// log says only what the sample says.
	var node11 interface{ String() string }
	for _, n := range []int{12, 13, 11} {
		r := startNode(t, fmt.Sprintf("node-%d", n), fmt.Sprintf("127.0.0.%d", n), port, web, spec, args...)
		if n == 11 {
			node11 = r.Out
		}
	}
	base := fmt.Sprintf("http://127.0.0.11:%d", web)
	var row mesh.Row
	deadline := time.Now().Add(20 * time.Second)
	for {
		row = getJSON[mesh.Row](t, base+"/mesh.json")
		named := 0
		for _, c := range row.Destinations {
			if strings.HasPrefix(c.Host, "node-") && c.LastOKUnixMS != 0 {
				named++
			}
		}
		if named == 2 && len(row.Destinations) == 3 && row.Round >= 2 {
			break
		}
		require.True(t, time.Now().Before(deadline), "node-11's row never named both peers: %+v", row)
		time.Sleep(200 * time.Millisecond)
	}
	ports := func(s string) string {
		s = strings.ReplaceAll(s, fmt.Sprintf(":%d", port), ":7890")
		s = strings.ReplaceAll(s, fmt.Sprintf(":%d", web), ":8080")
		return strings.ReplaceAll(s, fmt.Sprintf("port %d ", port), "port 7890 ")
	}

	b, err := json.MarshalIndent(row, "", "  ")
	require.NoError(t, err)
	doccheck.CheckSample(t, "../docs/mesh.md", "mesh-row", ports(string(b))+"\n",
		doccheck.Rule{Re: regexp.MustCompile(`("(?:latency|round|round_unix|time_unix|since_unix|last_ok_unix|udp_rtt)_ms": )[0-9.e+]+`), Repl: "${1}N"},
		doccheck.Rule{Re: regexp.MustCompile(`("(?:pmtu_)?round": )[0-9]+`), Repl: "${1}N"})

	// The log's start: what the node says of itself and of the mesh,
	// without the greetings its peers' probes get.
	var lines []string
	for _, l := range strings.SplitAfter(node11.String(), "\n") {
		if l != "" && !strings.Contains(l, "Connection received") && len(lines) < 5 {
			lines = append(lines, l)
		}
	}
	doccheck.CheckSample(t, "../docs/mesh.md", "mesh-log", ports(strings.Join(lines, "")), doccheck.Timestamps)
}
