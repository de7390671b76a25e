package integration

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
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
	requireDocker(t)
	other, tag, out, err := requireOtherArchImages()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	assert.Contains(t, out, "smile-server:"+tag+": linux/"+other+" binary in a linux/"+other+" image")
	assert.Contains(t, out, "smile-client:"+tag+": linux/"+other+" binary in a linux/"+other+" image")
	for _, image := range []string{"smile-server:" + tag, "smile-client:" + tag} {
		assert.NoError(t, imagearch.Check(ctx, image, other))
	}

	requireImages(t) // bin/linux-<host arch> exists
	root, err := filepath.Abs("..")
	require.NoError(t, err)
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

// otherArch is the build of TestImageArchitecture's images, started with
// the suite (prebuild) beside the shared images'.
var otherArch struct {
	once      sync.Once
	arch, tag string
	out       string // what `make images` printed
	err       error
}

// requireOtherArchImages builds, once, the images for the architecture
// that is not this host's with `make images GOARCH=...`, and returns the
// architecture, the images' tag and what make printed.
func requireOtherArchImages() (arch, tag, out string, err error) {
	otherArch.once.Do(func() {
		otherArch.arch = map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
		if otherArch.arch == "" {
			otherArch.err = fmt.Errorf("no second architecture for %s", runtime.GOARCH)
			return
		}
		root, err := filepath.Abs("..")
		if err != nil {
			otherArch.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		otherArch.tag = "it-" + runID + "-" + otherArch.arch
		otherArch.out, otherArch.err = makeImages(ctx, root, "GOARCH="+otherArch.arch, "TAG="+otherArch.tag)
	})
	return otherArch.arch, otherArch.tag, otherArch.out, otherArch.err
}
