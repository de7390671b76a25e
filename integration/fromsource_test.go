package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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
// Its builds link with the packages compiled from the stand-in's build
// cache (buildCacheFiles): compiling them in the container took most of a
// minute of both cores of a small machine. It runs beside the other tests
// rather than before them, and its `docker build .` starts with the suite
// (prebuild), before the test has a slot: every
// stage it builds, the client's too, is then in the builder's cache when
// `compose up` builds the same Dockerfile from the same files.
func TestFromSource(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	dot := requireDotBuild()
	removeIntermediates(t, dot.out) // a failed build's too
	require.NoError(t, dot.err)
	t.Logf("stand-in Go image and docker build . (from the start of the suite): done after %v", dot.took.Round(100*time.Millisecond))

	dir := cleanCopy(t)
	tag := "it-" + runID + "-src"
	p := newComposeProject(t, dir, "smile-it-"+runID+"-src", tag, dot.buildArgs)
	start := time.Now()
	out := p.up(t, 10*time.Minute)
	t.Logf("compose up, building both images from source: %v", time.Since(start).Round(100*time.Millisecond))
	removeIntermediates(t, out)
	p.checkDemo(t)
	t.Run("images", func(t *testing.T) {
		checkImage(t, "smile-server:"+tag, "smile-server")
		checkImage(t, "smile-client:"+tag, "smile-client")
	})

	t.Run("docker build .", func(t *testing.T) {
		// No --target: the last stage, the server.
		checkImage(t, dot.ref, "smile-server")
	})
}

// dotImage is TestFromSource's `docker build .` of a clean copy, started
// with the suite (prebuild).
type dotImage struct {
	once      sync.Once
	ref       string
	buildArgs map[string]string // the stand-in Go image and go env's proxy settings
	out       string            // what docker build printed
	took      time.Duration     // from its start, the stand-in image included
	err       error
}

var dotBuild dotImage

// requireDotBuild runs, once, `docker build .` in a clean copy of the
// repository with the stand-in Go image, as a user would with the
// official one, and returns how it went.
func requireDotBuild() *dotImage {
	dotBuild.once.Do(func() {
		start := time.Now()
		defer func() { dotBuild.took = time.Since(start) }()
		goImage, err := requireGoImage()
		if err != nil {
			dotBuild.err = fmt.Errorf("making the stand-in Go image: %w", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if dotBuild.buildArgs, err = moduleBuildArgs(ctx); err != nil {
			dotBuild.err = err
			return
		}
		dotBuild.buildArgs["GO_IMAGE"] = goImage
		dir, err := os.MkdirTemp("", "smile-it-dot")
		if err != nil {
			dotBuild.err = err
			return
		}
		defer func() { _ = os.RemoveAll(dir) }()
		if dotBuild.err = copyClean(dir); dotBuild.err != nil {
			return
		}
		dotBuild.ref = "smile-it-dot:" + runID
		args := []string{"build", "--force-rm", "-t", dotBuild.ref}
		for k, v := range dotBuild.buildArgs {
			args = append(args, "--build-arg", k+"="+v)
		}
		for k, v := range runLabels() {
			args = append(args, "--label", k+"="+v)
		}
		cmd := exec.CommandContext(ctx, "docker", append(args, ".")...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		dotBuild.out = string(out)
		if err != nil {
			dotBuild.err = fmt.Errorf("docker build .: %w\n%s", err, out)
		}
	})
	return &dotBuild
}

// cleanCopy copies what a fresh clone of the repository holds into a
// temporary directory: the files git tracks, plus new files it does not
// ignore, as they are in the working tree (so uncommitted edits are
// tested), without bin/ or any other ignored build output.
func cleanCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, copyClean(dir))
	return dir
}

// copyClean is cleanCopy into dir.
func copyClean(dir string) error {
	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("git ls-files (the suite needs a git checkout): %w", err)
	}
	for name := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		err := copyFile(filepath.Join(root, name), filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			return err
		}
	}
	return nil
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
