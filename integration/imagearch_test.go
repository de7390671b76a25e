package integration

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/imagearch"
)

// TestImageArchitecture builds the images for the other architecture the
// docs/containers.md shows (`make images GOARCH=arm64` on an amd64 host, amd64 on an
// arm64 one) with the daemon's own builder, the classic one here, and
// proves that the check `make images` runs reads the binary, not the label:
// an image labelled for that architecture but holding this host's binary
// fails it.
func TestImageArchitecture(t *testing.T) {
	t.Parallel()
	requireImages(t) // bin/linux-<host arch> exists
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	require.NotEmpty(t, other, "no second architecture for %s", runtime.GOARCH)
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	tag := "it-" + runID + "-" + other
	out, err := makeImages(ctx, root, "GOARCH="+other, "TAG="+tag)
	require.NoError(t, err)
	assert.Contains(t, out, "smile-server:"+tag+": linux/"+other+" binary in a linux/"+other+" image")
	assert.Contains(t, out, "smile-client:"+tag+": linux/"+other+" binary in a linux/"+other+" image")
	for _, image := range []string{"smile-server:" + tag, "smile-client:" + tag} {
		assert.NoError(t, imagearch.Check(ctx, image, other))
	}

	// The wrong binary: this host's, in an image built for the other
	// platform (--no-cache: the classic builder's cache ignores platforms).
	wrong := "smile-it-wrongarch:" + runID
	args := []string{"build", "--no-cache", "--force-rm", "-f", "Dockerfile.prebuilt", "--platform", "linux/" + other, "--target", "server", "-t", wrong}
	for k, v := range runLabels() {
		args = append(args, "--label", k+"="+v)
	}
	cmd := exec.CommandContext(ctx, "docker", append(args, filepath.Join("bin", "linux-"+runtime.GOARCH))...)
	cmd.Dir = root
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "docker build:\n%s", b)
	removeIntermediates(t, string(b))
	err = imagearch.Check(ctx, wrong, other)
	require.Error(t, err, "an image labelled linux/%s holding a linux/%s binary passed", other, runtime.GOARCH)
	assert.Equal(t, wrong+": /smile-server is a linux/"+runtime.GOARCH+" binary in an image labelled linux/"+other, err.Error())
}
