package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// standInCache is where the stand-in Go image keeps its build cache
// (GOCACHE), as root's default.
const standInCache = "root/.cache/go-build"

// buildCacheFiles are the entries of this machine's Go build cache that the
// default Dockerfile's `go build` looks up: for every package the two
// programs import, the action entry and the compiled package it names.
// With them in the stand-in image, the build in the container links
// instead of compiling the standard library and the dependencies, which
// took most of a minute of both cores and made TestFromSource the suite's
// longest test. Every step of the Dockerfile still runs as a user's does,
// module downloads included; only the compiler's work is reused, as a
// warm cache would on the user's own builder.
//
// The entries are those of `go list -export` with the flags of the
// Dockerfile's build (-trimpath makes their keys independent of where the
// sources are): their package files, found among the action entries of
// GOCACHE. Were the Dockerfile's flags to change, the keys would not match
// and the build would compile, slower but the same.
func buildCacheFiles(ctx context.Context) ([]standInFile, error) {
	cache, err := goEnv(ctx, "GOCACHE")
	if err != nil {
		return nil, err
	}
	out, err := listPrograms(ctx, "{{if .Export}}{{.Export}}{{end}}", "-export")
	if err != nil {
		return nil, err
	}
	outputs := map[string]bool{} // output IDs, hex
	for line := range strings.Lines(out) {
		if id, ok := strings.CutSuffix(filepath.Base(strings.TrimSpace(line)), "-d"); ok {
			outputs[id] = true
		}
	}
	var files []standInFile
	// An action entry is "v1 <action ID> <output ID> <size> <time>",
	// in <cache>/<first two hex digits of the action ID>/<action ID>-a.
	dirs, err := os.ReadDir(cache)
	if err != nil {
		return nil, fmt.Errorf("reading GOCACHE: %w", err)
	}
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(cache, d.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading GOCACHE: %w", err)
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), "-a") {
				continue
			}
			action := filepath.Join(cache, d.Name(), e.Name())
			output, ok := outputOf(action)
			if !ok || !outputs[output] {
				continue
			}
			files = append(files,
				standInFile{src: action, dst: filepath.Join(standInCache, d.Name(), e.Name())},
				standInFile{src: filepath.Join(cache, output[:2], output+"-d"), dst: filepath.Join(standInCache, output[:2], output+"-d")})
			delete(outputs, output)
		}
	}
	return files, nil
}

// listPrograms runs `go list -deps` over the two programs with the flags
// and platform of the Dockerfile's build, printing format for each package.
func listPrograms(ctx context.Context, format string, flags ...string) (string, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	args := append(append([]string{"list"}, flags...), "-trimpath", "-buildvcs=false", "-deps", "-f", format,
		"./cmd/smile-server", "./cmd/smile-client")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args[:len(args)-2], " "), err, stderr.Bytes())
	}
	return string(out), nil
}

// outputOf reads the output ID an action entry of the build cache names.
func outputOf(path string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return "", false
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 3 || fields[0] != "v1" || len(fields[2]) != 64 {
		return "", false
	}
	return fields[2], true
}
