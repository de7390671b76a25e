//go:build linux

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOnly: -only keeps its groups' rows and the rows their targets
// divide by, and refuses a group it does not know.
func TestOnly(t *testing.T) {
	tests := []struct {
		only    string
		rows    []string
		targets int
		err     string
	}{
		{only: "udp", rows: []string{"udp/c", "udp/smile"}, targets: 2},
		{only: "matrix", rows: []string{"smile", "matrix"}, targets: 1},
		{only: "loss"},
		{only: "udp,bogus", err: `unknown group "bogus": want some of tcp, matrix, udp, meshscale, loss`},
	}
	for _, tt := range tests {
		t.Run(tt.only, func(t *testing.T) {
			sel, err := parseOnly(tt.only)
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			tb := newTable(options{only: sel, count: 1, workers: 1}, &env{}, servers{})
			var names []string
			for _, rw := range tb.rows {
				names = append(names, rw.name)
			}
			assert.Equal(t, tt.rows, names)
			assert.Len(t, tb.targets, tt.targets)
		})
	}
}
