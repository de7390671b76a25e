package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// netfaultImage is the fault helper's image, built once per run like the
// product's images: a static binary first, then the client image with it
// added. Its containers are the tests' hosts: they hold the namespaces
// other containers join, carry faults, and run the client image's own
// binary, as the client image's user, for each cell of a matrix (netfault
// hold -exec, package hostexec; hostClient).
var netfaultImage struct {
	once sync.Once
	ref  string
	err  error
}

// netfaultDockerfile makes the helper's image on the client image; it runs
// as root because it needs NET_ADMIN in the namespace it joins, and
// nothing else.
func netfaultDockerfile(clientImage string) string {
	return "FROM " + clientImage + `
USER 0
COPY netfault /netfault
ENTRYPOINT ["/netfault"]
`
}

// requireNetfault returns the fault helper's image, building it on first
// use, and fails the test if that is impossible.
func requireNetfault(t *testing.T) string {
	t.Helper()
	_, clientImage := requireImages(t)
	netfaultImage.once.Do(func() {
		ref := "smile-netfault:it-" + runID
		netfaultImage.err = buildNetfault(ref, clientImage)
		if netfaultImage.err == nil {
			netfaultImage.ref = ref
		}
	})
	if netfaultImage.err != nil {
		t.Fatalf("building the fault helper's image: %v", netfaultImage.err)
	}
	return netfaultImage.ref
}

// buildNetfault compiles internal/smiletest/netfault/cmd/netfault for Linux and
// builds ref from it on the client image with the daemon's classic builder
// or BuildKit alike.
func buildNetfault(ref, clientImage string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "smile-netfault")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin := filepath.Join(dir, "netfault")
	goarch, err := exec.CommandContext(ctx, "go", "env", "GOARCH").Output()
	if err != nil {
		return fmt.Errorf("go env GOARCH: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./internal/smiletest/netfault/cmd/netfault")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+strings.TrimSpace(string(goarch)))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w: %s", err, out)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		body []byte
	}{{"Dockerfile", 0o644, []byte(netfaultDockerfile(clientImage))}, {"netfault", 0o755, binary}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body))}); err != nil {
			return err
		}
		if _, err := tw.Write(f.body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	res, err := suite.docker.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags: []string{ref}, Remove: true, ForceRemove: true,
		Labels: map[string]string{"smile.integration.run": runID},
	})
	if err != nil {
		return fmt.Errorf("docker build: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	// The build's outcome is in its JSON message stream, not the status.
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("docker build: reading its output: %w", err)
		}
		if msg.Error != "" {
			return fmt.Errorf("docker build: %s", msg.Error)
		}
	}
	builtImages.add(ref)
	return nil
}
