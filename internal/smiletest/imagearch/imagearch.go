// Package imagearch checks which architecture an image's program really is,
// by reading the ELF header of the entrypoint inside the image. An image's
// platform label says what the build asked for; only the binary says what
// was copied in (a wrong TARGETARCH gives an arm64-labelled image holding an
// amd64 binary, which fails only when a node runs it).
package imagearch

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"strings"
)

// maxBinary bounds what is read of one binary (smile's are a few MB).
const maxBinary = 256 << 20

// Check returns an error unless image is labelled linux/arch and its
// entrypoint is an ELF binary for arch (a GOARCH name: amd64, arm64, …).
// It drives the docker CLI, as the Makefile does.
func Check(ctx context.Context, image, arch string) error {
	cfg, err := inspect(ctx, image)
	if err != nil {
		return err
	}
	if cfg.Os != "linux" || cfg.Architecture != arch {
		return fmt.Errorf("%s: labelled %s/%s, want linux/%s", image, cfg.Os, cfg.Architecture, arch)
	}
	if len(cfg.Config.Entrypoint) == 0 {
		return fmt.Errorf("%s: no entrypoint to check", image)
	}
	bin := cfg.Config.Entrypoint[0]
	data, err := readFile(ctx, image, bin)
	if err != nil {
		return err
	}
	got, err := Of(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %s: %w", image, bin, err)
	}
	if got != arch {
		return fmt.Errorf("%s: %s is a linux/%s binary in an image labelled linux/%s", image, bin, got, arch)
	}
	return nil
}

// Of returns the GOARCH name of the ELF binary in r.
func Of(r io.ReaderAt) (string, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return "", fmt.Errorf("not an ELF binary: %w", err)
	}
	defer func() { _ = f.Close() }()
	le := f.ByteOrder.String() == "LittleEndian"
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_386:
		return "386", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	case elf.EM_ARM:
		return "arm", nil
	case elf.EM_RISCV:
		return "riscv64", nil
	case elf.EM_S390:
		return "s390x", nil
	case elf.EM_PPC64:
		if le {
			return "ppc64le", nil
		}
		return "ppc64", nil
	case elf.EM_LOONGARCH:
		return "loong64", nil
	}
	return "", fmt.Errorf("ELF machine %v has no GOARCH name here", f.Machine)
}

// imageConfig is the part of `docker image inspect` that Check reads.
type imageConfig struct {
	Os           string
	Architecture string
	Config       struct{ Entrypoint []string }
}

func inspect(ctx context.Context, image string) (imageConfig, error) {
	out, err := docker(ctx, "image", "inspect", "--format", "{{json .}}", image)
	if err != nil {
		return imageConfig{}, err
	}
	var cfg imageConfig
	if err := json.Unmarshal(out, &cfg); err != nil {
		return imageConfig{}, fmt.Errorf("reading docker image inspect %s: %w", image, err)
	}
	return cfg, nil
}

// readFile copies file out of image through a created, never started
// container (a scratch image has no shell to cat it with).
func readFile(ctx context.Context, image, file string) (data []byte, err error) {
	out, err := docker(ctx, "create", image)
	if err != nil {
		return nil, err
	}
	id := strings.TrimSpace(string(out))
	defer func() {
		if _, rmErr := docker(context.WithoutCancel(ctx), "rm", "-f", id); rmErr != nil && err == nil {
			err = rmErr
		}
	}()
	archive, err := docker(ctx, "cp", id+":"+file, "-")
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %s not in the archive docker cp wrote", image, file)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading %s: %w", image, file, err)
		}
		if h.Typeflag == tar.TypeReg && h.Name == path.Base(file) {
			return io.ReadAll(io.LimitReader(tr, maxBinary))
		}
	}
}

// docker runs the docker CLI and returns its stdout; the error carries stderr.
func docker(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
