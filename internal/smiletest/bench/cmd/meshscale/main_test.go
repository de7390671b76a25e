//go:build linux

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestScaledInterval checks the rate a run holds the namespace to: the
// interval grows with the probes a round, never under two seconds.
func TestScaledInterval(t *testing.T) {
	for _, tc := range []struct {
		n, k, rate int
		want       time.Duration
	}{
		{n: 2, k: 100, rate: 2000, want: 2 * time.Second},
		{n: 200, k: 100, rate: 2000, want: 10 * time.Second},
		{n: 1000, k: 100, rate: 2000, want: 50 * time.Second},
		{n: 1000, k: 1000, rate: 2000, want: 500 * time.Second},
		{n: 50, k: 100, rate: 100, want: 25 * time.Second}, // 50 × 49 probes
	} {
		assert.Equal(t, tc.want, scaledInterval(tc.n, tc.k, tc.rate), "n=%d k=%d rate=%d", tc.n, tc.k, tc.rate)
	}
}

// TestNodeAddr checks that every node of the largest run has an address
// of its own on 127.2.0.0/16, none of them a network or broadcast-like .0.
func TestNodeAddr(t *testing.T) {
	seen := map[string]int{}
	for i := 1; i <= maxNodes; i++ {
		a := nodeAddr(i)
		s := a.String()
		assert.True(t, strings.HasPrefix(s, "127.2."), "node %d at %s", i, s)
		assert.NotEqual(t, byte(0), a.As4()[3], "node %d at %s", i, s)
		if j, dup := seen[s]; dup {
			t.Fatalf("nodes %d and %d share %s", j, i, s)
		}
		seen[s] = i
	}
}

// TestCheck refuses runs that cannot be made, naming the flag.
func TestCheck(t *testing.T) {
	good := config{n: 200, k: 100, rate: 2000, rounds: 3}
	for _, tc := range []struct {
		name string
		edit func(*config)
		want string
	}{
		{"one node", func(c *config) { c.n = 1 }, "bad -n 1"},
		{"too many nodes", func(c *config) { c.n = maxNodes + 1 }, "bad -n"},
		{"no peers", func(c *config) { c.k = 0 }, "bad -k 0"},
		{"no rate", func(c *config) { c.rate = 0 }, "bad -rate 0"},
		{"no rounds", func(c *config) { c.rounds = 0 }, "bad -rounds 0"},
		{"negative warm-up", func(c *config) { c.warmup = -1 }, "bad -warmup -1"},
		{"negative interval", func(c *config) { c.interval = -time.Second }, "bad -interval -1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := c.check()
			if assert.Error(t, err) {
				assert.Contains(t, err.Error(), tc.want)
			}
		})
	}
	c := good
	assert.NoError(t, c.check())
	assert.Equal(t, 10*time.Second, c.interval, "the interval a good run is scaled to")
}

// TestStaleKind counts stale rows by what their reasons say, not by the
// addresses and numbers in them.
func TestStaleKind(t *testing.T) {
	for in, want := range map[string]string{
		"no row from http://127.2.0.9:28080/mesh.json: timeout":    "no row from URL: timeout",
		"no row from http://127.2.3.200:28080/mesh.json: timeout":  "no row from URL: timeout",
		"not tried: gathering out of time":                         "not tried: gathering out of time",
		"row of 4100 bytes, more than 4096 (4 KiB + 1 KiB a cell)": "row of N bytes, more than N (N KiB + N KiB a cell)",
	} {
		assert.Equal(t, want, staleKind(in), in)
	}
}
