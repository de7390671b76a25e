package client

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBadInvocations: every mistake is a one-line message naming what was
// wrong and exit 2, before any connection or DNS query.
func TestBadInvocations(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		msg  string
	}{
		{[]string{"localhost", "0"}, nil, `bad port "0": must be 1-65535`},
		{[]string{"localhost", "-1"}, nil, `bad port "-1": not a number`},
		{[]string{"localhost", "65536"}, nil, `bad port "65536": must be 1-65535`},
		{[]string{"localhost", "abc"}, nil, `bad port "abc": not a number`},
		{[]string{"localhost:0"}, nil, `bad address "localhost:0": bad port "0": must be 1-65535`},
		{[]string{"[::1"}, nil, `bad address "[::1": missing ']'`},
		{[]string{"::1]:80"}, nil, `bad address "::1]:80": unbalanced brackets`},
		{[]string{"[::1]x"}, nil, `bad address "[::1]x": unexpected "x" after ']'`},
		{[]string{"[127.0.0.1]:80"}, nil, `bad address "[127.0.0.1]:80": "127.0.0.1" in brackets is not an IPv6 address`},
		{[]string{"1.2.3.4.5"}, nil, `bad IPv4 address "1.2.3.4.5"`},
		{[]string{"256.0.0.1"}, nil, `bad IPv4 address "256.0.0.1"`},
		{[]string{"1:2:3"}, nil, `bad IPv6 address "1:2:3"`},
		{[]string{"bad host"}, nil, `bad host name "bad host": character ' ' not allowed`},
		{[]string{"-bad-"}, nil, `flag provided but not defined: -bad-`},
		{[]string{"--", "-bad-"}, nil, `bad host name "-bad-": a label starts or ends with '-'`},
		{[]string{"a..b"}, nil, `bad host name "a..b": empty or over-long label`},
		{[]string{strings.Repeat("a", 64) + ".test"}, nil, `bad host name "` + strings.Repeat("a", 64) + `.test": empty or over-long label`},
		{[]string{""}, nil, `empty host`},
		{[]string{"0.0.0.0"}, nil, `bad address "0.0.0.0": a wildcard address cannot be dialled`},
		{[]string{"::"}, nil, `bad address "::": a wildcard address cannot be dialled`},
		{[]string{"localhost:80", "81"}, nil, `port given twice: in "localhost:80" and as "81"`},
		{[]string{"localhost", "80", "extra"}, nil, `unexpected argument "extra"`},
		{[]string{"-nope"}, nil, `flag provided but not defined: -nope`},
		{[]string{"-4", "-6"}, nil, `give -4 or -6, not both`},
		{[]string{"-4", "::1"}, nil, `-4 with the IPv6 address ::1`},
		{[]string{"-6", "127.0.0.1"}, nil, `-6 with the IPv4 address 127.0.0.1`},
		{[]string{"-timeout", "0"}, nil, `bad -timeout 0s: must be positive`},
		{[]string{"-timeout", "-1s"}, nil, `bad -timeout -1s: must be positive`},
		{[]string{"-timeout", "forever"}, nil, `invalid value "forever" for flag -timeout: parse error`},
		{[]string{"-read-timeout", "0"}, nil, `bad -read-timeout 0s: must be positive`},
		{[]string{"-max-bytes", "0"}, nil, `bad -max-bytes 0: must be at least 1`},
		{[]string{"-max-bytes", "999999999"}, nil, `bad -max-bytes 999999999: at most 67108864`},
		{[]string{"-count", "0"}, nil, `bad -count 0: must be at least 1`},
		{[]string{"-count", "-3"}, nil, `bad -count -3: must be at least 1`},
		{[]string{"-concurrency", "0"}, nil, `bad -concurrency 0: must be at least 1`},
		{[]string{"-interval", "-1s"}, nil, `bad -interval -1s: must not be negative`},
		{[]string{"-expect", "toolong", "-max-bytes", "3"}, nil, `bad -expect: longer than -max-bytes 3`},
		{[]string{"-resolver", "dns.example"}, nil, `bad resolver "dns.example": want IP:PORT`},
		{[]string{"-json=perhaps"}, nil, `invalid boolean value "perhaps" for -json: parse error`},
		{[]string{"-udp", "-size", "19"}, nil, `bad -size 19: a datagram of 20 to 65507 bytes`},
		{[]string{"-udp", "-size", "65508"}, nil, `bad -size 65508: a datagram of 20 to 65507 bytes`},
		{[]string{"-size", "64"}, nil, `-size 64 without -udp: only datagrams have a size to set`},
		{[]string{"-pmtu", "-count", "3"}, nil, `give -pmtu or -count, not both: the path MTU search sends datagrams of its own sizes`},
		{[]string{"-pmtu", "-size", "1400"}, nil, `give -pmtu or -size, not both: the path MTU search sends datagrams of its own sizes`},
		{[]string{"-udp", "-each", "-count", "4", "-concurrency", "2"}, nil, `-udp with -concurrency 2: a datagram series is one flow, its loss and order counted in sequence`},
		{nil, map[string]string{"SMILE_COUNT": "many"}, `invalid value "many" for SMILE_COUNT: parse error`},
		{nil, map[string]string{"SMILE_TIMEOUT": "-2s"}, `bad -timeout -2s: must be positive`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errOut, elapsed := runClientEnv(t, c.env, c.args...)
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			assert.Equal(t, "smile-client: "+c.msg+"\n", errOut)
			assert.Less(t, elapsed, time.Second)
		})
	}
	assert.GreaterOrEqual(t, len(cases), 25)
}

// TestEnvironment: every flag can come from SMILE_*, and the command line
// wins.
func TestEnvironment(t *testing.T) {
	env := map[string]string{
		"SMILE_4": "true", "SMILE_TIMEOUT": "2s", "SMILE_READ_TIMEOUT": "3s", "SMILE_MAX_BYTES": "100",
		"SMILE_EXPECT": "hi", "SMILE_COUNT": "7", "SMILE_CONCURRENCY": "3", "SMILE_INTERVAL": "10ms",
		"SMILE_JSON": "true", "SMILE_V": "true", "SMILE_EACH": "true", "SMILE_RESOLVER": "127.0.0.1:5353",
		"SMILE_JUNIT": "report.xml", "SMILE_VERSION": "true",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := ParseConfig([]string{"127.0.0.1"}, lookup)
	require.NoError(t, err)
	assert.True(t, cfg.IPv4)
	assert.Equal(t, 2*time.Second, cfg.Timeout)
	assert.Equal(t, 3*time.Second, cfg.ReadTimeout)
	assert.Equal(t, 100, cfg.MaxBytes)
	assert.True(t, cfg.HasExpect)
	assert.Equal(t, "hi", cfg.Expect)
	assert.Equal(t, 7, cfg.Count)
	assert.Equal(t, 3, cfg.Concurrency)
	assert.Equal(t, 10*time.Millisecond, cfg.Interval)
	assert.True(t, cfg.JSON)
	assert.True(t, cfg.Verbose)
	assert.True(t, cfg.Each)
	assert.Equal(t, "127.0.0.1:5353", cfg.Resolver)
	assert.Equal(t, "report.xml", cfg.JUnit)
	assert.False(t, cfg.Version, "actions are never switched on from the environment")

	env["SMILE_6"] = "false"
	cfg, err = ParseConfig([]string{"-4=false", "-6", "-timeout", "1s", "-read-timeout", "1s", "-max-bytes", "50", "-expect", "yo",
		"-count", "2", "-concurrency", "1", "-interval", "0s", "-json=false", "-v=false", "-each=false", "-resolver", "127.0.0.2:53", "::1"}, lookup)
	require.NoError(t, err)
	assert.False(t, cfg.IPv4)
	assert.True(t, cfg.IPv6)
	assert.Equal(t, time.Second, cfg.Timeout)
	assert.Equal(t, time.Second, cfg.ReadTimeout)
	assert.Equal(t, 50, cfg.MaxBytes)
	assert.Equal(t, "yo", cfg.Expect)
	assert.Equal(t, 2, cfg.Count)
	assert.Equal(t, 1, cfg.Concurrency)
	assert.Zero(t, cfg.Interval)
	assert.False(t, cfg.JSON)
	assert.False(t, cfg.Verbose)
	assert.False(t, cfg.Each)
	assert.Equal(t, "127.0.0.2:53", cfg.Resolver)
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _, _ := runClient(t, "-version")
	assert.Equal(t, 0, code)
	assert.Regexp(t, `^smile-client \S+ \(revision \S+, go1\.\S+, linux/\w+\)\n$`, out)
	code, out, _, _ = runClient(t, "-h")
	assert.Equal(t, 0, code)
	for _, f := range []string{"4", "6", "timeout", "read-timeout", "max-bytes", "expect", "count", "concurrency", "interval", "json", "v", "each", "resolver", "junit", "version"} {
		assert.Regexp(t, fmt.Sprintf(`(?m)^  -%s( |\t|$)`, f), out, "flag %s", f)
	}
}
