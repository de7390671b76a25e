// Package integration proves the contract of smile-server and smile-client in
// containers: the addressing and restart matrices of docs/matrices.md, the
// path faults of docs/path-faults.md, the routed sites of docs/router.md, the
// datagram cells of docs/datagrams.md (addressing, a multi-homed host, a
// router's loss, MTU, NAT and hops), the
// mesh of docs/mesh.md (its page in a real browser), the compose demos and
// images of docs/containers.md (lifecycle, hardening, architecture). It needs
// a local Docker daemon (docs/architecture.md says what else, and how to run
// one test). The images most tests share come from the repository's own
// `make images`, which puts the binaries of `make build-linux` into
// Dockerfile.prebuilt; TestFromSource builds the repository's Dockerfile, from
// source, as a user's `docker build .` and `compose up` do.
package integration

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// runID makes every name this run gives to images, containers, networks and
// compose projects unique, so runs on one daemon never collide and anything
// left behind is easy to attribute. make integration sets it
// (SMILE_IT_RUN), to remove what a test binary that died left behind.
var runID = cmp.Or(os.Getenv("SMILE_IT_RUN"), randomHex(4))

// suite is what every test shares: the Docker client and the images built
// once for the run.
var suite struct {
	dockerOnce  sync.Once
	imagesOnce  sync.Once
	unreachable error // why Docker can't be used: a skip, outside CI
	err         error // why the images can't be built: always a failure
	docker      *testcontainers.DockerClient
	server      string // image reference of smile-server
	client      string // image reference of smile-client
}

// builtImages are the images this run built, removed when it ends.
var builtImages imageList

type imageList struct {
	mu   sync.Mutex
	refs []string
}

func (l *imageList) add(refs ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refs = append(l.refs, refs...)
}

func (l *imageList) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.refs...)
}

// runLabels mark everything the run creates (containers, networks, images):
// its ID, and the test process and host, so that `make clean-integration`
// can tell what a killed run left behind from what a running one uses.
func runLabels() map[string]string {
	host, _ := os.Hostname()
	return map[string]string{
		"smile.integration.run":  runID,
		"smile.integration.pid":  strconv.Itoa(os.Getpid()),
		"smile.integration.host": host,
	}
}

// TestMain removes every image the run built and anything else labelled
// with its ID; containers and networks are removed by each test's cleanups.
//
// Ryuk, the reaper container of testcontainers, is disabled unless the
// environment says otherwise: nothing can be pulled on this project's machines
// and every test removes what it starts, even on failure.
func TestMain(m *testing.M) {
	if _, ok := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !ok {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	flag.Parse()
	prebuild()
	code := m.Run()
	prebuilds.Wait() // a test that failed early left its build running
	if refs := builtImages.all(); len(refs) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		for _, ref := range refs {
			if _, err := suite.docker.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
				fmt.Fprintf(os.Stderr, "integration: removing image %s: %v\n", ref, err)
			}
		}
		cancel()
	}
	// Everything else the run labelled: make images' images, the stand-in Go
	// image and what was built on it. A leftover image says nothing about a
	// test, so it is reported, not failed (make clean-integration retries).
	if suite.docker != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		out, err := exec.CommandContext(ctx, "./leftovers.sh", "run", runID).CombinedOutput()
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "integration: removing what run %s made: %v\n%s", runID, err, out)
		}
	}
	if suite.docker != nil {
		_ = suite.docker.Close()
	}
	os.Exit(code)
}

// prebuild starts the suite's image builds before any test runs, each at
// once and side by side: the images most tests share (when no -run picks
// tests: a run of a few builds them on first use), the other
// architecture's (TestImageArchitecture) and TestFromSource's `docker
// build .` with its stand-in Go image (when -run selects them). The tests
// then wait only for what they need, each build under its own sync.Once,
// rather than start their builds one after another as test slots
// (-parallel) come free; every test is parallel (TestEveryTestIsParallel),
// so no test waits for another's build. TestMain waits for the builds
// before it removes what the run made, so that none outlives the run.
func prebuild() {
	if testing.Short() || os.Getenv(childEnv) != "" {
		return
	}
	run, _, _ := strings.Cut(flag.Lookup("test.run").Value.String(), "/")
	selected := func(test string) bool {
		ok, err := regexp.MatchString(run, test)
		return run == "" || ok && err == nil
	}
	builds := []struct {
		start bool
		build func()
	}{
		{run == "", func() { suite.imagesOnce.Do(buildImages) }},
		{selected("TestImageArchitecture"), func() { _, _, _, _ = requireOtherArchImages() }},
		{selected("TestFromSource"), func() { _ = requireDotBuild() }},
	}
	for _, b := range builds {
		if !b.start {
			continue
		}
		if suite.dockerOnce.Do(connect); suite.unreachable != nil {
			return
		}
		prebuilds.Add(1)
		go func() {
			defer prebuilds.Done()
			b.build()
		}()
	}
}

// prebuilds are the builds prebuild started.
var prebuilds sync.WaitGroup

// requireImages returns the server and client images of this run, building
// them on first use (or taking smile-*:$SMILE_IT_TAG as they are). Without a
// Docker daemon the test is skipped with the reason, or fails when env CI is
// set: a CI without Docker must not pass by running nothing. With a daemon,
// images that can't be built are a failure everywhere.
func requireImages(t *testing.T) (server, client string) {
	t.Helper()
	requireDocker(t)
	suite.imagesOnce.Do(buildImages)
	if suite.err != nil {
		t.Fatalf("integration tests can't run: %v", suite.err)
	}
	return suite.server, suite.client
}

// requireDocker skips the test without a Docker daemon (fails it in CI),
// for tests that build images of their own.
func requireDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration tests need Docker: skipped in -short mode")
	}
	suite.dockerOnce.Do(connect)
	if suite.unreachable != nil {
		if inCI() {
			t.Fatalf("integration tests can't run: %v", suite.unreachable)
		}
		t.Skipf("integration tests skipped: %v (set CI=1 to make this a failure)", suite.unreachable)
	}
}

// connect connects to the Docker daemon.
func connect() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		suite.unreachable = fmt.Errorf("docker is unreachable: %w", err)
		return
	}
	suite.docker = docker
	pingCtx, pingCancel := context.WithTimeout(ctx, 10*time.Second)
	defer pingCancel()
	if _, err := docker.Ping(pingCtx, client.PingOptions{}); err != nil {
		suite.unreachable = fmt.Errorf("docker is unreachable: %w", err)
	}
}

// buildImages builds both images with the repository's own `make images`,
// so the tests exercise exactly what users build.
func buildImages() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Images built beforehand (e.g. by a CI step) can be tested as they are.
	if tag := os.Getenv("SMILE_IT_TAG"); tag != "" {
		suite.server, suite.client = "smile-server:"+tag, "smile-client:"+tag
		return
	}

	root, err := filepath.Abs("..")
	if err != nil {
		suite.err = fmt.Errorf("finding the repository root: %w", err)
		return
	}
	tag := "it-" + runID
	if _, err := makeImages(ctx, root, "TAG="+tag); err != nil {
		suite.err = err
		return
	}
	suite.server, suite.client = "smile-server:"+tag, "smile-client:"+tag
}

// makeImages runs `make images` in dir with the run's labels on the images
// and the given variables, and returns its output.
func makeImages(ctx context.Context, dir string, vars ...string) (string, error) {
	labels := make([]string, 0, 3)
	for k, v := range runLabels() {
		labels = append(labels, k+"="+v)
	}
	args := append([]string{"--no-print-directory", "images", "IMAGE_LABELS=" + strings.Join(labels, " ")}, vars...)
	cmd := exec.CommandContext(ctx, "make", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("make images %s: %w\n%s", strings.Join(vars, " "), err, out)
	}
	return string(out), nil
}

// randomHex returns n random bytes in hex, for unique names.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("crypto/rand failed: " + err.Error()))
	}
	return hex.EncodeToString(b)
}
