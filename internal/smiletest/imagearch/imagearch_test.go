package imagearch

import (
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOf reads the architecture of this test's own binary and refuses a
// file that is no binary. The integration suite checks arm64 images and an
// image holding the wrong binary (TestImageArchitecture).
func TestOf(t *testing.T) {
	for _, tc := range []struct {
		name, path, want, err string
	}{
		{"this test", os.Args[0], runtime.GOARCH, ""},
		{"a Go source file", "imagearch.go", "", "not an ELF binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(tc.path)
			require.NoError(t, err)
			defer func() { _ = f.Close() }()
			got, err := Of(f)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
