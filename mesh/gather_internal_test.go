package mesh

import (
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFirstOutcomeIsNoChange: a destination's cell travels in full in the
// compact row while it fails, and in the round its class changed from an
// earlier outcome's, never for its first outcome being ok, so that a new
// node's or a new peer's ok cells are a code each from the start.
func TestFirstOutcomeIsNoChange(t *testing.T) {
	tests := []struct {
		name     string
		outcomes []string // the class of each round's probe, "" ok
		full     []bool   // the cell in full in each round's compact row
	}{
		{"ok from the first probe", []string{"", "", ""}, []bool{false, false, false}},
		{"failing from the first probe", []string{"refused", "refused"}, []bool{true, true}},
		{"failing, then ok", []string{"refused", "", ""}, []bool{true, true, false}},
		{"ok, then failing, then ok", []string{"", "timeout", "", ""}, []bool{false, true, true, false}},
		{"failing, another class", []string{"timeout", "refused"}, []bool{true, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Options{Interval: time.Second, MaxPeers: 1, Timeout: 100 * time.Millisecond, Grace: time.Minute, Node: "n"},
				slog.New(slog.NewTextHandler(io.Discard, nil)))
			require.NoError(t, err)
			a := netip.MustParseAddrPort("10.0.0.2:7890")
			c := &cell{addr: a}
			m.cells[a] = c
			for i, class := range tc.outcomes {
				round := uint64(i + 1)
				c.record(time.Now(), round, class, class, time.Millisecond, "ipv4")
				m.round = round // the round completed
				r := m.compactRow()
				assert.Equal(t, tc.full[i], len(r.Cells) == 1, "round %d: %+v", round, r.Cells)
			}
		})
	}
}
