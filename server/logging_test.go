package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestAppendStampIsTheFormat: the log's cached-second time stamp is byte
// for byte what stampFormat gives, across seconds, days, years and zones.
func TestAppendStampIsTheFormat(t *testing.T) {
	base := time.Date(2026, 11, 26, 9, 12, 59, 999_999_999, time.UTC)
	cases := []time.Time{
		base,
		base.Add(time.Nanosecond), // the next second, day and millisecond 000
		base.Add(1_500_000),       // within the second, after a new one
		base.Add(-time.Second),    // back to an earlier second
		time.Date(2024, 2, 29, 23, 59, 59, 1_000_000, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		time.Date(2026, 6, 1, 12, 0, 0, 42_000_000, time.FixedZone("CEST", 2*3600)), // shown in UTC
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.Local),
	}
	for _, at := range cases {
		t.Run(at.Format(time.RFC3339Nano), func(t *testing.T) {
			assert.Equal(t, at.UTC().Format(stampFormat), string(appendStamp(nil, at)))
		})
	}
}
