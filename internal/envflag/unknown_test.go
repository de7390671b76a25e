package envflag

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUnknownNamesTheClosestVariable(t *testing.T) {
	known := []string{"SMILE_LISTEN", "SMILE_V6ONLY", "SMILE_MAX_CONNS", "SMILE_WRITE_TIMEOUT"}
	cases := []struct {
		env  string
		want string
	}{
		{"SMILE_V6_ONLY=true", "prog: warning: SMILE_V6_ONLY is not a variable prog reads, so it is ignored; did you mean SMILE_V6ONLY?"},
		{"SMILE_MAXCONNS=4", "prog: warning: SMILE_MAXCONNS is not a variable prog reads, so it is ignored; did you mean SMILE_MAX_CONNS?"},
		{"SMILE_LISTNE=:1", "prog: warning: SMILE_LISTNE is not a variable prog reads, so it is ignored; did you mean SMILE_LISTEN?"},
		{"SMILE_write_timeout=1s", "prog: warning: SMILE_write_timeout is not a variable prog reads, so it is ignored; did you mean SMILE_WRITE_TIMEOUT?"},
		{"SMILE_COLOUR=blue", "prog: warning: SMILE_COLOUR is not a variable prog reads, so it is ignored"},
		{"SMILE_LISTEN=:1", ""},
		{"HOME=/root", ""},
		{"SMILEY=1", ""},
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			got := Unknown("prog", known, []string{c.env})
			if c.want == "" {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, []string{c.want}, got)
		})
	}
}
