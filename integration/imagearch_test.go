package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/smile-sockets/smile/internal/imagearch"
)

// TestImageArchitecture builds the images for the other architecture the
// README shows (`make images GOARCH=arm64` on an amd64 host, amd64 on an
// arm64 one) with the daemon's own builder, the classic one here, and
// proves that the check `make images` runs reads the binary, not the label:
// an image labelled for that architecture but holding this host's binary
// fails it. The images of the other architecture greet in containers where
// this host runs its binaries.
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
	t.Run("the images greet", func(t *testing.T) { greetWith(t, other, "smile-server:"+tag, "smile-client:"+tag) })

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

// binfmtEntry is the binfmt_misc entry that runs each architecture's
// binaries on a host of the other, under qemu-user (.ci/qemu-arm64
// registers the arm64 one).
var binfmtEntry = map[string]string{"arm64": "qemu-aarch64", "amd64": "qemu-x86_64"}

// greetWith runs a server and a client of arch, from the images given,
// on a network of their own: the client must be greeted. It needs this
// host to run arch's binaries (binfmt_misc); without that it skips, or
// fails in CI.
func greetWith(t *testing.T, arch, serverImage, clientImage string) {
	entry := "/proc/sys/fs/binfmt_misc/" + binfmtEntry[arch]
	if b, err := os.ReadFile(entry); err != nil || !strings.HasPrefix(string(b), "enabled") {
		if inCI() {
			t.Fatalf("linux/%s binaries do not run on this host (%s): run .ci/qemu-arm64 as root", arch, entry)
		}
		t.Skipf("linux/%s binaries do not run on this host (no %s): .ci/qemu-arm64 registers qemu-user", arch, entry)
	}
	nw := newNetwork(t)
	run(t, serverImage, append(common(t, containerName(t, "server")), noHealthcheck,
		testcontainers.WithCmd("-resolve=false"),
		network.WithNetwork([]string{"greeter"}, nw.DockerNetwork),
		testcontainers.WithWaitStrategy(wait.ForLog("SERVER started").WithStartupTimeout(time.Minute)))...)
	ctr := run(t, clientImage, append(common(t, containerName(t, "client")),
		testcontainers.WithCmd("greeter"),
		network.WithNetwork(nil, nw.DockerNetwork),
		testcontainers.WithWaitStrategy(wait.ForExit().WithExitTimeout(time.Minute)))...)
	r := exited(t, ctr)
	assert.Equal(t, 0, r.exit, r)
	assert.Equal(t, "Smile from the server\n", r.stdout, r)
}
