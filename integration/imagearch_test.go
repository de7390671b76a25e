package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/smile-sockets/smile/internal/smiletest/imagearch"
)

// TestImageArchitecture builds the images for the other architecture the
// docs/containers.md shows (`make images GOARCH=arm64` on an amd64 host, amd64 on an
// arm64 one) with the daemon's own builder, the classic one here, and
// proves that the check `make images` runs reads the binary, not the label:
// an image labelled for that architecture but holding this host's binary
// fails it. The images of the other architecture greet in containers where
// this host runs its binaries.
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
	// Side by side: the greeting waits on containers under emulation, the
	// check on the builder's steps.
	t.Run("the images greet", func(t *testing.T) {
		t.Parallel()
		greetWith(t, other, "smile-server:"+tag, "smile-client:"+tag)
	})
	t.Run("the check reads the binary", func(t *testing.T) {
		t.Parallel()
		checkReadsTheBinary(t, other)
	})
}

// checkReadsTheBinary builds an image labelled for arch that holds this
// host's binary, and requires the check `make images` runs to fail it.
func checkReadsTheBinary(t *testing.T, other string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
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
