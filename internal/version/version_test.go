package version

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestResolve(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name                       string
		stampedVersion, stampedRev string
		bi                         *debug.BuildInfo
		wantVersion, wantRev       string
	}{
		{"stamped by the Makefile", "v1.2.0-3-gabc", "abc123", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("fff", "false")}, "v1.2.0-3-gabc", "abc123"},
		{"Makefile outside a checkout", "dev", "unknown", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123abcd", "false")}, "dev", "0123abcd"},
		{"go install in a clone", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123abcd", "false")}, "dev", "0123abcd"},
		{"go install in a modified clone", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0-0.20260102150405-0123456789ab+dirty"}, Settings: vcs("0123456789abcdef", "true")}, "v1.3.0-0.20260102150405-0123456789ab+dirty", "0123456789abcdef-dirty"},
		{"go install of a tag", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, "v1.2.0", "unknown"},
		{"go install of a branch", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260102150405-0123456789ab"}}, "v0.0.0-20260102150405-0123456789ab", "0123456789ab"},
		{"go install after a tag", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.1-0.20260102150405-0123456789ab"}}, "v1.2.1-0.20260102150405-0123456789ab", "0123456789ab"},
		{"prerelease that only looks like a pseudo-version", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0-rc-0123456789ab"}}, "v1.2.0-rc-0123456789ab", "unknown"},
		{"image built without a revision", "v1.2.0", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "v1.2.0", "unknown"},
		{"no build info", "", "", nil, "dev", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, r := resolve(tt.stampedVersion, tt.stampedRev, tt.bi)
			assert.Equal(t, tt.wantVersion, v, "version")
			assert.Equal(t, tt.wantRev, r, "revision")
		})
	}
}
