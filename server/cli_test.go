package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/envflag"
	"github.com/smile-sockets/smile/internal/smiletest"
)

// TestBadInvocations: every mistake is a one-line message naming what was
// wrong, with the right exit code, and nothing starts.
func TestBadInvocations(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		code int
		msg  string
	}{
		{[]string{"0"}, nil, 2, `bad port "0": must be 1-65535`},
		{[]string{"-1"}, nil, 2, `bad port "-1": not a number`},
		{[]string{"65536"}, nil, 2, `bad port "65536": must be 1-65535`},
		{[]string{"abc"}, nil, 2, `bad port "abc": not a number`},
		{[]string{"80", "81"}, nil, 2, `unexpected argument "81"`},
		{[]string{"-listen", ":8080", "8080"}, nil, 2, `give either -listen or a port, not both`},
		{[]string{"-listen", "[::1"}, nil, 2, `bad listen address "[::1": missing ']'`},
		{[]string{"-listen", "::1]:80"}, nil, 2, `bad listen address "::1]:80": unbalanced brackets`},
		{[]string{"-listen", "1.2.3.4.5:80"}, nil, 2, `bad listen address "1.2.3.4.5:80": bad IPv4 address "1.2.3.4.5"`},
		{[]string{"-listen", "300.1.1.1:80"}, nil, 2, `bad listen address "300.1.1.1:80": bad IPv4 address "300.1.1.1"`},
		{[]string{"-listen", "::1:80"}, nil, 2, `bad listen address "::1:80": IPv6 address with a port needs brackets, as in [::1]:7890`},
		{[]string{"-listen", "[127.0.0.1]:80"}, nil, 2, `bad listen address "[127.0.0.1]:80": "127.0.0.1" in brackets is not an IPv6 address`},
		{[]string{"-listen", "[::1]x"}, nil, 2, `bad listen address "[::1]x": unexpected "x" after ']'`},
		{[]string{"-listen", "127.0.0.1"}, nil, 2, `bad listen address "127.0.0.1": missing port`},
		{[]string{"-listen", "127.0.0.1:"}, nil, 2, `bad listen address "127.0.0.1:": missing port`},
		{[]string{"-listen", ":0"}, nil, 2, `bad listen address ":0": bad port "0": must be 1-65535`},
		{[]string{"-listen", "bad!host:80"}, nil, 2, `bad listen address "bad!host:80": bad host name "bad!host": character '!' not allowed`},
		{[]string{"-nope"}, nil, 2, `flag provided but not defined: -nope`},
		{[]string{"-backlog", "0"}, nil, 2, `bad -backlog 0: must be at least 1`},
		{[]string{"-backlog", "x"}, nil, 2, `invalid value "x" for flag -backlog: parse error`},
		{[]string{"-greeting", ""}, nil, 2, `bad -greeting: must not be empty`},
		{[]string{"-resolve-timeout", "0s"}, nil, 2, `bad -resolve-timeout 0s: must be positive`},
		{[]string{"-resolve-timeout", "-1s"}, nil, 2, `bad -resolve-timeout -1s: must be positive`},
		{[]string{"-write-timeout", "soon"}, nil, 2, `invalid value "soon" for flag -write-timeout: parse error`},
		{[]string{"-write-timeout", "0"}, nil, 2, `bad -write-timeout 0s: must be positive`},
		{[]string{"-drain-idle", "0"}, nil, 2, `bad -drain-idle 0s: must be positive`},
		{[]string{"-drain-idle", "later"}, nil, 2, `invalid value "later" for flag -drain-idle: parse error`},
		{[]string{"-max-conns", "0"}, nil, 2, `bad -max-conns 0: must be at least 1`},
		{[]string{"-max-conns", "-5"}, nil, 2, `bad -max-conns -5: must be at least 1`},
		{[]string{"-log-format", "xml"}, nil, 2, `bad -log-format "xml": want text or json`},
		{[]string{"-resolver", "nowhere"}, nil, 2, `bad resolver "nowhere": want IP:PORT`},
		{[]string{"-resolver", "127.0.0.1:0"}, nil, 2, `bad resolver "127.0.0.1:0": port 0`},
		{[]string{"-v6only=maybe"}, nil, 2, `invalid boolean value "maybe" for -v6only: parse error`},
		{nil, map[string]string{"SMILE_MAX_CONNS": "abc"}, 2, `invalid value "abc" for SMILE_MAX_CONNS: parse error`},
		{nil, map[string]string{"SMILE_LISTEN": "[::1"}, 2, `bad listen address "[::1": missing ']'`},
		{[]string{"-http", "nohost!:80"}, nil, 2, `bad -http: bad listen address "nohost!:80": bad host name "nohost!": character '!' not allowed`},
		{[]string{"-http", "9090"}, nil, 2, `bad -http: bad listen address "9090": missing port`},
		{[]string{"-http", "example.com:9090"}, nil, 2, `bad -http "example.com:9090": want an IP address, localhost or :PORT`},
		{[]string{"-mesh", ","}, nil, 2, `bad -mesh ",": want a name or a list of HOST:PORT`},
		{[]string{"-mesh", "peers:0"}, nil, 2, `bad -mesh "peers:0": bad address "peers:0": bad port "0": must be 1-65535`},
		{[]string{"-mesh", "a,0.0.0.0:80"}, nil, 2, `bad -mesh "a,0.0.0.0:80": bad address "0.0.0.0": a wildcard address cannot be dialled`},
		{[]string{"-mesh", "bad!name"}, nil, 2, `bad -mesh "bad!name": bad host name "bad!name": character '!' not allowed`},
		{[]string{"-mesh", "p", "-mesh-interval", "0s"}, nil, 2, `bad -mesh-interval 0s: at least 100ms`},
		{[]string{"-mesh", "p", "-mesh-interval", "2ns"}, nil, 2, `bad -mesh-interval 2ns: at least 100ms`},
		{[]string{"-mesh", "p", "-mesh-interval", "1ns"}, nil, 2, `bad -mesh-interval 1ns: at least 100ms`},
		{[]string{"-mesh", "p", "-mesh-interval", "99ms"}, nil, 2, `bad -mesh-interval 99ms: at least 100ms`},
		{[]string{"-mesh", "p", "-mesh-interval", "100ms", "-mesh-timeout", "9ms"}, nil, 2, `bad -mesh-timeout 9ms: at least 10ms`},
		{[]string{"-mesh", "p", "-mesh-timeout", "0s"}, nil, 2, `bad -mesh-timeout 0s: at least 10ms`},
		{nil, map[string]string{"SMILE_MESH": "p", "SMILE_MESH_INTERVAL": "1ns"}, 2, `bad -mesh-interval 1ns: at least 100ms`},
		{[]string{"-mesh", "p", "-mesh-interval", "1s", "-mesh-timeout", "600ms"}, nil, 2, `bad -mesh-timeout 600ms: at most half of -mesh-interval 1s, so that a round's probes end well inside it`},
		{[]string{"-mesh", "p", "-mesh-timeout", "6s"}, nil, 2, `bad -mesh-timeout 6s: at most half of -mesh-interval 10s, so that a round's probes end well inside it`},
		{[]string{"-mesh", "p", "-mesh-peers", "0"}, nil, 2, `bad -mesh-peers 0: must be at least 1`},
		{[]string{"-mesh", "p", "-mesh-grace", "-1s"}, nil, 2, `bad -mesh-grace -1s: must be positive`},
		{[]string{"-mesh", "p", "-mesh-metrics", "some"}, nil, 2, `bad -mesh-metrics "some": want one of summary, failing, all`},
		{nil, map[string]string{"SMILE_MESH_METRICS": "every"}, 2, `bad -mesh-metrics "every": want one of summary, failing, all`},
		{[]string{"-mesh", "p", "-mesh-node", "a b"}, nil, 2, `bad -mesh-node "a b": want a host name (letters, digits, '-', '_', '.')`},
		{nil, map[string]string{"SMILE_MESH_INTERVAL": "often"}, 2, `invalid value "often" for SMILE_MESH_INTERVAL: parse error`},
		{[]string{"-listen", "[fe80::1%nosuchif0]:80"}, nil, 1, `can't bind to [fe80::1%nosuchif0]:80: unknown zone "nosuchif0"`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb smiletest.Buffer
			env := envflag.Environ(nil)
			if c.env != nil {
				env = func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			code := Run(ctx, c.args, env, &out, &errb)
			assert.Equal(t, c.code, code)
			assert.Equal(t, "smile-server: "+c.msg+"\n", errb.String())
			assert.NotContains(t, out.String(), "SERVER started")
		})
	}
	assert.GreaterOrEqual(t, len(cases), 25)
}

// TestEnvironment: every flag can come from SMILE_*, and the command line
// wins.
func TestEnvironment(t *testing.T) {
	env := map[string]string{
		"SMILE_LISTEN":          "127.0.0.1:7001,[::1]:7002",
		"SMILE_V6ONLY":          "true",
		"SMILE_REUSEADDR":       "false",
		"SMILE_BACKLOG":         "5",
		"SMILE_GREETING":        "hello",
		"SMILE_RESOLVE":         "false",
		"SMILE_RESOLVE_TIMEOUT": "300ms",
		"SMILE_RESOLVER":        "127.0.0.1:5353",
		"SMILE_MAX_CONNS":       "64",
		"SMILE_WRITE_TIMEOUT":   "2s",
		"SMILE_DRAIN_IDLE":      "3s",
		"SMILE_LOG_FORMAT":      "json",
		"SMILE_HEALTHCHECK":     "true",
		"SMILE_VERSION":         "true",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := ParseConfig(nil, lookup)
	require.NoError(t, err)
	require.Len(t, cfg.Listen, 2)
	assert.Equal(t, "127.0.0.1:7001", cfg.Listen[0].String())
	assert.Equal(t, "[::1]:7002", cfg.Listen[1].String())
	assert.True(t, cfg.V6Only)
	assert.False(t, cfg.ReuseAddr)
	assert.Equal(t, 5, cfg.Backlog)
	assert.Equal(t, "hello", cfg.Greeting)
	assert.False(t, cfg.Resolve)
	assert.Equal(t, 300*time.Millisecond, cfg.ResolveTimeout)
	assert.Equal(t, "127.0.0.1:5353", cfg.Resolver)
	assert.Equal(t, 64, cfg.MaxConns)
	assert.Equal(t, 2*time.Second, cfg.WriteTimeout)
	assert.Equal(t, 3*time.Second, cfg.DrainIdle)
	assert.Equal(t, "json", cfg.LogFormat)
	assert.False(t, cfg.Healthcheck, "actions are never switched on from the environment")
	assert.False(t, cfg.Version, "actions are never switched on from the environment")

	cfg, err = ParseConfig([]string{"-listen", ":7003", "-v6only=false", "-reuseaddr", "-backlog", "9", "-greeting", "hi",
		"-resolve", "-resolve-timeout", "1s", "-resolver", "127.0.0.2:53", "-max-conns", "3", "-write-timeout", "1s", "-drain-idle", "200ms", "-log-format", "text"}, lookup)
	require.NoError(t, err)
	assert.Equal(t, ":7003", cfg.Listen[0].String())
	assert.Len(t, cfg.Listen, 1)
	assert.False(t, cfg.V6Only)
	assert.True(t, cfg.ReuseAddr)
	assert.Equal(t, 9, cfg.Backlog)
	assert.Equal(t, "hi", cfg.Greeting)
	assert.True(t, cfg.Resolve)
	assert.Equal(t, time.Second, cfg.ResolveTimeout)
	assert.Equal(t, "127.0.0.2:53", cfg.Resolver)
	assert.Equal(t, 3, cfg.MaxConns)
	assert.Equal(t, time.Second, cfg.WriteTimeout)
	assert.Equal(t, 200*time.Millisecond, cfg.DrainIdle)
	assert.Equal(t, "text", cfg.LogFormat)

	cfg, err = ParseConfig([]string{"8000"}, lookup)
	require.NoError(t, err)
	assert.Equal(t, ":8000", cfg.Listen[0].String(), "a positional port on the command line beats SMILE_LISTEN")
}

func TestHealthcheck(t *testing.T) {
	port := smiletest.FreePort(t)
	startServer(t, "-resolve=false", "-greeting", "custom", "-listen", fmt.Sprintf("127.0.0.1:%d", port))
	cases := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"healthy", []string{"-healthcheck", "-greeting", "custom", "-listen", fmt.Sprintf("127.0.0.1:%d", port)}, 0, fmt.Sprintf("healthy: 127.0.0.1:%d greeted \"custom\"\n", port)},
		{"wildcard reached over loopback", []string{"-healthcheck", "-greeting", "custom", fmt.Sprint(port)}, 0, fmt.Sprintf("healthy: 127.0.0.1:%d greeted \"custom\"\n", port)},
		{"wrong greeting", []string{"-healthcheck", "-listen", fmt.Sprintf("127.0.0.1:%d", port)}, 1, ""},
		{"nothing listening", []string{"-healthcheck", "-listen", fmt.Sprintf("127.0.0.1:%d", smiletest.FreePort(t))}, 1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb smiletest.Buffer
			code := Run(context.Background(), c.args, noEnv, &out, &errb)
			assert.Equal(t, c.code, code, errb.String())
			assert.Equal(t, c.out, out.String())
			if c.code != 0 {
				assert.Regexp(t, `^smile-server: unhealthy: .+\n$`, errb.String())
			}
		})
	}
}

func TestHealthcheckV6Only(t *testing.T) {
	smiletest.RequireIPv6(t)
	port := smiletest.FreePort(t)
	startServer(t, "-resolve=false", "-v6only", "-listen", fmt.Sprintf("[::]:%d", port))
	var out, errb smiletest.Buffer
	code := Run(context.Background(), []string{"-healthcheck", "-v6only", "-listen", fmt.Sprintf("[::]:%d", port)}, noEnv, &out, &errb)
	assert.Equal(t, 0, code, errb.String())
	assert.Equal(t, fmt.Sprintf("healthy: [::1]:%d greeted %q\n", port, defaultGreeting), out.String())
}

// TestMisspeltVariableIsNamed: the real program warns on stderr about a
// SMILE_* variable it does not read, naming the one that was meant, and
// goes on.
func TestMisspeltVariableIsNamed(t *testing.T) {
	p := smiletest.Start(t, serverBinary(t), smiletest.Options{Env: []string{"SMILE_V6_ONLY=true", "SMILE_RESOLVE=false"}}, "-version")
	<-p.Done()
	assert.Equal(t, 0, p.Cmd.ProcessState.ExitCode())
	assert.Equal(t, "smile-server: warning: SMILE_V6_ONLY is not a variable smile-server reads, so it is ignored; did you mean SMILE_V6ONLY?\n", p.Err.String())
	assert.Contains(t, p.Out.String(), "smile-server ")
}

// TestMeshFlags: the mesh's defaults, a port taken from the first
// listener, a probe bound that follows a short interval unless set, and
// every mesh flag from SMILE_*.
func TestMeshFlags(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		entries  []string
		interval time.Duration
		timeout  time.Duration
		peers    int
		grace    time.Duration
		node     string
		http     string
	}{
		{"defaults", []string{"-mesh", "smile-mesh"}, nil, []string{"smile-mesh:7890"}, 10 * time.Second, 2 * time.Second, 100, time.Minute, "", ""},
		{"first listener's port", []string{"-listen", ":9000", "-listen", ":9001", "-mesh", "smile-mesh,10.0.0.1:7"}, nil,
			[]string{"smile-mesh:9000", "10.0.0.1:7"}, 10 * time.Second, 2 * time.Second, 100, time.Minute, "", ""},
		{"short interval", []string{"-mesh", "m", "-mesh-interval", "1s"}, nil, []string{"m:7890"}, time.Second, 500 * time.Millisecond, 100, time.Minute, "", ""},
		{"timeout given", []string{"-mesh", "m", "-mesh-interval", "1s", "-mesh-timeout", "200ms"}, nil, []string{"m:7890"}, time.Second, 200 * time.Millisecond, 100, time.Minute, "", ""},
		{"environment", nil, map[string]string{"SMILE_MESH": "m:81", "SMILE_MESH_INTERVAL": "4s", "SMILE_MESH_TIMEOUT": "300ms",
			"SMILE_MESH_PEERS": "7", "SMILE_MESH_GRACE": "5m", "SMILE_MESH_NODE": "node-1.example", "SMILE_HTTP": ":8080"},
			[]string{"m:81"}, 4 * time.Second, 300 * time.Millisecond, 7, 5 * time.Minute, "node-1.example", ":8080"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig(c.args, func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			require.NoError(t, err)
			var entries []string
			for _, e := range cfg.MeshEntries {
				entries = append(entries, e.String())
			}
			assert.Equal(t, c.entries, entries)
			assert.Equal(t, c.interval, cfg.MeshInterval)
			assert.Equal(t, c.timeout, cfg.MeshTimeout)
			assert.Equal(t, c.peers, cfg.MeshPeers)
			assert.Equal(t, c.grace, cfg.MeshGrace)
			assert.Equal(t, c.node, cfg.MeshNode)
			assert.Equal(t, c.http, cfg.HTTP)
		})
	}
}

// TestMeshMetricsFlag: which per-destination series /metrics has, failing
// by default, from the flag or SMILE_MESH_METRICS.
func TestMeshMetricsFlag(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-mesh", "m"}, nil, "failing"},
		{[]string{"-mesh", "m", "-mesh-metrics", "all"}, nil, "all"},
		{[]string{"-mesh", "m"}, map[string]string{"SMILE_MESH_METRICS": "summary"}, "summary"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			cfg, err := ParseConfig(c.args, func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			require.NoError(t, err)
			assert.Equal(t, c.want, cfg.MeshMetrics)
		})
	}
}
