package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// smileServer greets as the tutorial's server does on 127.0.0.1 and, with v6, on
// [::1] at the same port, until the test ends, and returns the port.
func smileServer(t *testing.T, v6 bool) string {
	t.Helper()
	for attempt := 0; ; attempt++ {
		ln4, err := net.Listen("tcp4", "127.0.0.1:0")
		require.NoError(t, err)
		lns := []net.Listener{ln4}
		_, port, _ := net.SplitHostPort(ln4.Addr().String())
		if v6 {
			ln6, err := net.Listen("tcp6", "[::1]:"+port)
			if err != nil && attempt < 5 {
				_ = ln4.Close() // the port is taken on ::1: another one
				continue
			}
			require.NoError(t, err)
			lns = append(lns, ln6)
		}
		serveOn(t, lns...)
		return port
	}
}

// serveOn greets on lns as the tutorial's server does until the test
// ends. (Not package server itself: it imports this package for its mesh.)
func serveOn(t *testing.T, lns ...net.Listener) {
	t.Helper()
	for _, ln := range lns {
		serve(t, ln, writes(greeting))
	}
}

// TestJSONFollowsTheSchema runs the real client against the real server
// (and against addresses where nothing answers) in every mode that writes
// JSON, and checks every line against docs/smile.schema.json, its types in
// order, and the fields a script reads first.
func TestJSONFollowsTheSchema(t *testing.T) {
	name, dns := dualName(t)
	dual := smileServer(t, true)
	v4only := smileServer(t, false) // nothing on [::1] at this port: refused
	dead := closedPort(t)
	_, silent := peer(t, "tcp4", "127.0.0.1:0", func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	swallowed := stalled(t, "0")
	udual := udpDual(t)
	udead := closedUDPPort(t, "udp4", "127.0.0.1")
	cases := []struct {
		name  string
		args  []string
		code  int
		types []string
		check func(t *testing.T, objs []map[string]any)
	}{
		{"one probe", []string{"-json", "127.0.0.1", dual}, 0, []string{"probe", "summary"}, func(t *testing.T, o []map[string]any) {
			assert.Equal(t, "ipv4", o[0]["family"])
			assert.Equal(t, "Smile from the server", o[0]["greeting"])
			assert.Equal(t, true, o[1]["ok"])
		}},
		{"-count over both families", []string{"-json", "-count", "4", "-concurrency", "2", "-resolver", dns, name, dual}, 0,
			[]string{"probe", "probe", "probe", "probe", "summary"}, func(t *testing.T, o []map[string]any) {
				assert.EqualValues(t, 4, o[4]["ok_probes"])
				assert.Contains(t, o[4], "p99_ms")
			}},
		{"refused", []string{"-json", "-count", "3", "127.0.0.1", dead}, 1, []string{"probe", "probe", "probe", "summary"}, func(t *testing.T, o []map[string]any) {
			assert.Equal(t, "refused", o[0]["class"])
			assert.Equal(t, "connect", o[0]["stage"])
			assert.Equal(t, fmt.Sprintf("can't connect to 127.0.0.1:%s: refused", dead), o[0]["error"])
			assert.Equal(t, false, o[3]["ok"])
			assert.Equal(t, map[string]any{"refused": 3.0}, o[3]["classes"])
			assert.NotContains(t, o[3], "p50_ms")
		}},
		{"connect timeout", []string{"-json", "-timeout", "300ms", "::1", swallowed}, 1, []string{"probe", "summary"}, func(t *testing.T, o []map[string]any) {
			assert.Equal(t, "timeout", o[0]["class"])
			assert.Equal(t, "ipv6", o[0]["family"])
		}},
		{"read timeout", []string{"-json", "-read-timeout", "200ms", "127.0.0.1", silent}, 1, []string{"probe", "summary"}, func(t *testing.T, o []map[string]any) {
			assert.Equal(t, "timeout", o[0]["class"])
			assert.Equal(t, "read", o[0]["stage"])
		}},
		{"mismatch", []string{"-json", "-expect", "hi", "127.0.0.1", dual}, 1, []string{"probe", "summary"}, func(t *testing.T, o []map[string]any) {
			assert.Equal(t, "mismatch", o[0]["class"])
			assert.Equal(t, "Smile from the server", o[0]["greeting"])
		}},
		{"every address failed", []string{"-json", "-timeout", "1s", "-resolver", dns, name, dead}, 1, []string{"probe", "summary"}, func(t *testing.T, o []map[string]any) {
			require.Len(t, o[0]["attempts"], 2)
			assert.NotContains(t, o[0], "address")
		}},
		{"no such name", []string{"-json", "-resolver", dns, "nowhere.smile.test", dual}, 1, []string{"probe", "summary"}, func(t *testing.T, o []map[string]any) {
			assert.Equal(t, "dns", o[0]["class"])
			assert.Equal(t, "resolve", o[0]["stage"])
			assert.NotContains(t, o[0], "family")
		}},
		{"-each dual-stack", []string{"-each", "-json", "-resolver", dns, name, dual}, 0, []string{"each", "each", "each", "each_summary"}, func(t *testing.T, o []map[string]any) {
			assert.Equal(t, "ipv6", o[0]["family"])
			assert.Equal(t, "ipv4", o[1]["family"])
			assert.Equal(t, "name", o[2]["via"])
			assert.Equal(t, true, o[3]["ok"])
		}},
		{"-each one family refused", []string{"-each", "-json", "-count", "2", "-resolver", dns, name, v4only}, 1,
			[]string{"each", "each", "each", "each_summary"}, func(t *testing.T, o []map[string]any) {
				assert.Equal(t, "refused", o[0]["class"])
				assert.EqualValues(t, 2, o[0]["failed_probes"])
				assert.NotContains(t, o[0], "total_ms")
				assert.Equal(t, true, o[1]["ok"])
				assert.EqualValues(t, 1, o[3]["failed_targets"])
			}},
		{"-each every address timed out", []string{"-each", "-json", "-timeout", "300ms", "::1", swallowed}, 1, []string{"each", "each_summary"}, func(t *testing.T, o []map[string]any) {
			assert.Equal(t, "timeout", o[0]["class"])
			assert.Equal(t, "address", o[0]["via"])
		}},
		{"-each no such name", []string{"-each", "-json", "-resolver", dns, "nowhere.smile.test", dual}, 1, []string{"each", "each_summary"}, func(t *testing.T, o []map[string]any) {
			assert.Equal(t, "dns", o[0]["class"])
			assert.NotContains(t, o[0], "address")
			assert.NotContains(t, o[0], "family")
		}},
		// The name resolved: its row says the family of the first address
		// dialled, as a probe does, and no address, since several failed.
		{"-each every address of the name refused", []string{"-each", "-json", "-resolver", dns, name, dead}, 1,
			[]string{"each", "each", "each", "each_summary"}, func(t *testing.T, o []map[string]any) {
				assert.Equal(t, "name", o[2]["via"])
				assert.Equal(t, "refused", o[2]["class"])
				assert.NotContains(t, o[2], "address")
				require.Len(t, o[2]["attempts"], 2)
				first := o[2]["attempts"].([]any)[0].(map[string]any)
				assert.Equal(t, first["family"], o[2]["family"])
				assert.Contains(t, []any{"ipv4", "ipv6"}, o[2]["family"])
			}},
		{"-udp greeting", []string{"-udp", "-json", "::1", udual}, 0, []string{"datagrams"}, func(t *testing.T, o []map[string]any) {
			assert.Equal(t, "Smile from the server", o[0]["greeting"])
			assert.EqualValues(t, 0, o[0]["hops"])
		}},
		{"-udp greeting by a name", []string{"-udp", "-json", "-resolver", dns, name, udual}, 0, []string{"datagrams"}, func(t *testing.T, o []map[string]any) {
			assert.Equal(t, "[::1]:"+udual, o[0]["address"])
			require.Len(t, o[0]["attempts"], 2)
			assert.Equal(t, "answered", o[0]["attempts"].([]any)[0].(map[string]any)["outcome"])
			assert.Equal(t, "not tried", o[0]["attempts"].([]any)[1].(map[string]any)["outcome"])
		}},
		{"-udp every address of the name refused", []string{"-udp", "-json", "-resolver", dns, name, udead}, 1, []string{"datagrams"}, func(t *testing.T, o []map[string]any) {
			assert.Equal(t, "refused", o[0]["class"])
			assert.NotContains(t, o[0], "address")
			require.Len(t, o[0]["attempts"], 2)
		}},
		{"-udp -count", []string{"-udp", "-json", "-count", "5", "127.0.0.1", udual}, 0, []string{"datagrams"}, func(t *testing.T, o []map[string]any) {
			assert.EqualValues(t, 5, o[0]["received"])
			assert.EqualValues(t, 0, o[0]["loss_ratio"])
		}},
		{"-udp refused", []string{"-udp", "-json", "-count", "3", "127.0.0.1", udead}, 1, []string{"datagrams"}, func(t *testing.T, o []map[string]any) {
			assert.Equal(t, "refused", o[0]["class"])
			assert.EqualValues(t, 1, o[0]["loss_ratio"])
		}},
		{"-pmtu on loopback", []string{"-pmtu", "-json", "127.0.0.1", udual}, 0, []string{"datagrams"}, func(t *testing.T, o []map[string]any) {
			assert.EqualValues(t, 65535, o[0]["path_mtu"])
			assert.Equal(t, false, o[0]["black_hole"])
		}},
		{"-udp -each dual-stack", []string{"-udp", "-each", "-json", "-count", "3", "-resolver", dns, name, udual}, 0,
			[]string{"each", "each", "each", "each_summary"}, func(t *testing.T, o []map[string]any) {
				assert.Equal(t, "udp", o[0]["protocol"])
				assert.EqualValues(t, 3, o[2]["received"])
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut, _ := runClient(t, c.args...)
			assert.Equal(t, c.code, code, errOut)
			objs := smiletest.JSONLines(t, out)
			var types []string
			for _, o := range objs {
				types = append(types, fmt.Sprint(o["type"]))
			}
			require.Equal(t, c.types, types, out)
			c.check(t, objs)
		})
	}
}

// TestSchemaRejectsOtherSpellings: the schema is strict enough to catch
// the spellings smile-client used before schema_version 1, a missing
// field and a field no type has.
func TestSchemaRejectsOtherSpellings(t *testing.T) {
	for _, line := range []string{
		`{"target":"a:1","ok":true,"connect_ms":1,"total_ms":1,"bytes":1}`,
		`{"schema_version":1,"type":"each","target":"a:1","family":"IPv6","via":"address","ok":true,"probes":1,"ok_probes":1,"failed_probes":0,"connect_ms":1,"total_ms":1}`,
		`{"schema_version":1,"type":"summary","summary":true,"target":"a:1","ok":3,"probes":3,"ok_probes":3,"failed_probes":0,"elapsed_ms":1,"rate_per_s":1}`,
		`{"schema_version":1,"type":"each_summary","target":"a:1","ok":true,"targets":1,"ok_targets":1}`,
		`{"schema_version":2,"type":"each_summary","target":"a:1","ok":true,"targets":1,"ok_targets":1,"failed_targets":0}`,
		`{"schema_version":1,"type":"probe","target":"a:1","ok":true,"class":"refused","connect_ms":1,"total_ms":1,"bytes":0}`,
		`{"schema_version":1,"type":"probe","target":"a:1","ok":false,"connect_ms":1,"total_ms":1,"bytes":0}`,
		`{"schema_version":1,"type":"mesh","target":"a:1"}`,
		`{"schema_version":1,"type":"datagrams","target":"a:1","ok":true,"total_ms":1,"sent":3}`,
		`{"schema_version":1,"type":"datagrams","target":"a:1","ok":true,"total_ms":1,"path_mtu":1280}`,
	} {
		assert.Error(t, smiletest.CheckJSON([]byte(line)), line)
	}
	assert.NoError(t, smiletest.CheckJSON([]byte(`{"schema_version":1,"type":"each_summary","target":"a:1","ok":true,"targets":1,"ok_targets":1,"failed_targets":0}`)))
}

// TestSchemaRulesOutWhatTheDocsDo: objects that docs/json.md and
// docs/mesh.md say never occur fail the schema, each for the rule it
// breaks, while the same objects made right pass.
func TestSchemaRulesOutWhatTheDocsDo(t *testing.T) {
	const (
		okProbe  = `"schema_version":1,"type":"probe","target":"a:1","ok":true,"connect_ms":1,"total_ms":1,"bytes":1`
		dnsProbe = `"schema_version":1,"type":"probe","target":"a:1","ok":false,"class":"dns","stage":"resolve","error":"can't resolve a: dns: no such host","connect_ms":1,"total_ms":1,"bytes":0`
		okRow    = `"schema_version":1,"type":"each","target":"a:1","via":"name","ok":true,"probes":1,"ok_probes":1,"failed_probes":0,"connect_ms":1,"total_ms":1`
		failRow  = `"schema_version":1,"type":"each","target":"127.0.0.1:1","via":"address","ok":false,"class":"refused","stage":"connect","error":"can't connect to 127.0.0.1:1: refused","probes":1,"ok_probes":0,"failed_probes":1`
		dnsRow   = `"schema_version":1,"type":"each","target":"a:1","via":"name","ok":false,"class":"dns","stage":"resolve","error":"can't resolve a: dns: no such host","probes":1,"ok_probes":0,"failed_probes":1`
		matrix   = `{"schema_version":2,"type":"mesh_matrix","node":"n","time_unix_ms":1,"assemble_ms":1,"classes":["ok"],"columns":[],"rows":[{"host":"p","stale":%s,%s"addresses":[],"round":0,"peers":0,"codes":"","cells":[]}]}`
		stale    = `"error":"no row from http://10.0.0.4:8080/mesh.json: connection refused",`
	)
	for _, c := range []struct {
		name, bad, good, want string
	}{
		{"an ok probe without its address", "{" + okProbe + `,"family":"ipv4"}`,
			"{" + okProbe + `,"address":"127.0.0.1:1","family":"ipv4"}`, "missing property 'address'"},
		{"an ok probe without its family", "{" + okProbe + `,"address":"127.0.0.1:1"}`,
			"{" + okProbe + `,"address":"127.0.0.1:1","family":"ipv4"}`, "missing property 'family'"},
		{"a name that did not resolve, with a family", "{" + dnsProbe + `,"family":"ipv4"}`,
			"{" + dnsProbe + "}", "'not' failed"},
		{"a name that did not resolve, not dns", "{" + strings.Replace(dnsProbe, `"class":"dns"`, `"class":"timeout"`, 1) + "}",
			"{" + dnsProbe + "}", "value must be 'dns'"},
		{"an ok -each row without its address", "{" + okRow + `,"family":"ipv6"}`,
			"{" + okRow + `,"address":"[::1]:1","family":"ipv6"}`, "missing property 'address'"},
		{"an -each address row without its address", "{" + failRow + "}",
			"{" + failRow + `,"address":"127.0.0.1:1","family":"ipv4"}`, "missing properties 'address', 'family'"},
		{"an -each row that did not resolve, with an address", "{" + dnsRow + `,"address":"127.0.0.1:1","family":"ipv4"}`,
			"{" + dnsRow + "}", "'not' failed"},
		{"a stale row with discovery", fmt.Sprintf(matrix, "true", stale+`"discovery":{"ok":true},`),
			fmt.Sprintf(matrix, "true", stale), "at '/rows/0': 'not' failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, smiletest.CheckJSON([]byte(c.good)), c.good)
			err := smiletest.CheckJSON([]byte(c.bad))
			require.Error(t, err, c.bad)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// TestSchemaMatchesTheGoTypes: every field each Go type can write is in
// its $defs entry and the other way round, and the schema's lists of
// types and classes are the client's.
func TestSchemaMatchesTheGoTypes(t *testing.T) {
	root, err := smiletest.ModuleRoot()
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(root, smiletest.SchemaFile))
	require.NoError(t, err)
	var schema struct {
		Properties struct {
			Type struct{ Enum []string }
		}
		Defs map[string]struct {
			Properties map[string]json.RawMessage
			Enum       []string
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(b, &schema))
	for def, v := range map[string]any{TypeProbe: Probe{}, TypeSummary: Summary{}, TypeEach: EachRow{}, TypeEachSummary: EachSummary{}, TypeDatagrams: Datagrams{}, "attempt": Attempt{}} {
		var fields []string
		for k := range schema.Defs[def].Properties {
			fields = append(fields, k)
		}
		sort.Strings(fields)
		assert.Equal(t, fields, smiletest.JSONFields(reflect.TypeOf(v)), "$defs/%s", def)
	}
	assert.Subset(t, schema.Properties.Type.Enum, []string{TypeProbe, TypeSummary, TypeEach, TypeEachSummary, TypeDatagrams})
	assert.Equal(t, classes, schema.Defs["class"].Enum)
	assert.Equal(t, []string{FamilyIPv4, FamilyIPv6}, schema.Defs["family"].Enum)
}

// TestInterruptedRunFollowsTheSchema: a run interrupted before its first
// probe (the first SIGINT cancels Run's context) still writes objects
// that follow the schema, each row a failure with its class, and fails.
func TestInterruptedRunFollowsTheSchema(t *testing.T) {
	port := smileServer(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	noEnv := func(string) (string, bool) { return "", false }
	for _, c := range []struct {
		args  []string
		types []string
	}{
		{[]string{"-each", "-json", "127.0.0.1", port}, []string{"each", "each_summary"}},
		{[]string{"-json", "-count", "3", "127.0.0.1", port}, []string{"summary"}},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errOut strings.Builder
			assert.Equal(t, 1, Run(ctx, c.args, noEnv, &out, &errOut))
			objs := smiletest.JSONLines(t, out.String())
			var types []string
			for _, o := range objs {
				types = append(types, fmt.Sprint(o["type"]))
				assert.Equal(t, false, o["ok"])
			}
			assert.Equal(t, c.types, types, out.String())
		})
	}
}
