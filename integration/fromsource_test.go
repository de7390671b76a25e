package integration

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFromSource is a new user's first minutes on a fresh clone, with only
// Docker: `docker compose up` builds both images from source with the
// default Dockerfile and runs the demo, and `docker build .` builds the
// server. Nothing can be pulled here, so the builder stage's official Go
// image is stood in for by one made from the Go running this test
// (requireGoImage), passed with the module proxy settings of `go env` as
// build arguments; everything else is what the user runs.
//
// The longest test of the suite (compiling the standard library in a
// container takes most of a minute of both cores of a small machine), so
// it runs beside the others rather than before them: a sequential test
// holds back every parallel one.
func TestFromSource(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	start := time.Now()
	goImage, err := requireGoImage()
	require.NoError(t, err, "making the stand-in Go image")
	t.Logf("stand-in Go image %s made in %v", goImage, time.Since(start).Round(100*time.Millisecond))
	ctx := context.Background()
	buildArgs, err := moduleBuildArgs(ctx)
	require.NoError(t, err)
	buildArgs["GO_IMAGE"] = goImage

	dir := cleanCopy(t)
	tag := "it-" + runID + "-src"
	p := newComposeProject(t, dir, "smile-it-"+runID+"-src", tag, buildArgs)
	start = time.Now()
	out := p.up(t, 10*time.Minute)
	t.Logf("compose up, building both images from source: %v", time.Since(start).Round(100*time.Millisecond))
	removeIntermediates(t, out)
	p.checkDemo(t)
	t.Run("images", func(t *testing.T) {
		checkImage(t, "smile-server:"+tag, "smile-server")
		checkImage(t, "smile-client:"+tag, "smile-client")
	})

	t.Run("docker build .", func(t *testing.T) {
		ref := "smile-it-dot:" + runID
		args := []string{"build", "--force-rm", "-t", ref}
		for k, v := range buildArgs {
			args = append(args, "--build-arg", k+"="+v)
		}
		for k, v := range runLabels() {
			args = append(args, "--label", k+"="+v)
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "docker", append(args, ".")...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		removeIntermediates(t, string(out))
		require.NoError(t, err, "docker build .:\n%s", out)
		// No --target: the last stage, the server.
		checkImage(t, ref, "smile-server")
	})
}

// cleanCopy copies what a fresh clone of the repository holds into a
// temporary directory: the files git tracks, plus new files it does not
// ignore, as they are in the working tree (so uncommitted edits are
// tested), without bin/ or any other ignored build output.
func cleanCopy(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	require.NoError(t, err, "git ls-files: the test needs a git checkout")
	dir := t.TempDir()
	for name := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		err := copyFile(filepath.Join(root, name), filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the working tree
		}
		require.NoError(t, err)
	}
	return dir
}

// copyFile copies one regular file, or a symbolic link as a link.
func copyFile(src, dst string) error {
	info, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if info.Mode()&os.ModeSymlink != 0 {
		link, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(link, dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	o, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(o, in); err != nil {
		_ = o.Close()
		return err
	}
	return o.Close()
}

// stepImage is the image a step of the classic builder committed.
var stepImage = regexp.MustCompile(`(?m)^ ---> ([0-9a-f]{12})$`)

// removeIntermediates registers the removal of the untagged images the
// classic builder committed for a stage that was not the target: they carry
// none of the run's labels (a scratch stage does not inherit them), so
// leftovers.sh would not find them. Tagged images, and images another build
// still uses, are left alone.
func removeIntermediates(t *testing.T, buildOutput string) {
	t.Helper()
	var ids []string
	for _, m := range stepImage.FindAllStringSubmatch(buildOutput, -1) {
		ids = append(ids, m[1])
	}
	t.Cleanup(func() {
		for i := len(ids) - 1; i >= 0; i-- { // children first
			out, err := exec.Command("docker", "image", "inspect", "--format", "{{len .RepoTags}} {{index .Config.Labels \"smile.integration.run\"}}", ids[i]).Output()
			if err != nil || !bytes.Equal(bytes.TrimSpace(out), []byte("0")) {
				continue // gone, tagged, or labelled (leftovers.sh removes it)
			}
			_ = exec.Command("docker", "image", "rm", ids[i]).Run() // fails if another image builds on it
		}
	})
}

// TestGoVersionOfBuilder keeps the default Dockerfile's Go builder at the Go
// version go.mod names (its toolchain line, if any, else its go line), so
// that `docker build .` compiles with the Go the project is tested with.
func TestGoVersionOfBuilder(t *testing.T) {
	t.Parallel()
	dockerfile, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	gomod, err := os.ReadFile("../go.mod")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^ARG GO_VERSION=(\S+)$`).FindSubmatch(dockerfile)
	require.NotNil(t, m, "the Dockerfile has no `ARG GO_VERSION=` line")
	want := goModVersion(gomod)
	require.NotEmpty(t, want, "go.mod has no go line")
	assert.Equal(t, want, string(m[1]), "ARG GO_VERSION in the Dockerfile vs go.mod")
	assert.Regexp(t, `(?m)^ARG GO_IMAGE=golang:\$\{GO_VERSION\}$`, string(dockerfile), "the builder is the official image at GO_VERSION")
}

// goModVersion is the Go release go.mod asks for: the toolchain line
// (go1.26.8 → 1.26.8) where there is one, else the go line.
func goModVersion(gomod []byte) string {
	if m := regexp.MustCompile(`(?m)^toolchain go(\S+)$`).FindSubmatch(gomod); m != nil {
		return string(m[1])
	}
	if m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod); m != nil {
		return string(m[1])
	}
	return ""
}
