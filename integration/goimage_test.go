package integration

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// goImage is the stand-in for the official Go image that the default
// Dockerfile's builder stage names: no registry can be reached where this
// suite runs, so it is made from the Go installation running the tests.
var goImage struct {
	once sync.Once
	ref  string
	err  error
}

// requireGoImage returns the stand-in Go image, importing it on first use.
// It holds what the Dockerfile's builder stage uses of the official image:
// the Go toolchain at /usr/local/go (on PATH), CA certificates for the module
// proxy, /tmp, and a /bin/sh for the RUN line (the host's, with the shared
// libraries it needs); and, which the official image does not hold, the
// build cache of the packages the programs import (buildCacheFiles), and of
// GOROOT/src only the sources of those packages (stdSources). The image
// carries the run's labels, and so does every image built on it; the run
// removes them all at the end.
func requireGoImage() (string, error) {
	goImage.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		ref := "smile-it-go:" + runID
		goImage.err = importGoImage(ctx, ref)
		if goImage.err == nil {
			goImage.ref = ref
		}
	})
	return goImage.ref, goImage.err
}

// importGoImage streams a tarball of the stand-in's files into
// `docker import`, which makes it a one-layer image.
func importGoImage(ctx context.Context, ref string) error {
	goroot, err := goEnv(ctx, "GOROOT")
	if err != nil {
		return err
	}
	files, err := standInFiles(ctx, goroot)
	if err != nil {
		return err
	}
	cached, err := buildCacheFiles(ctx)
	if err != nil {
		return err
	}
	files = append(files, cached...)
	args := []string{"import",
		"--change", "ENV PATH=/usr/local/go/bin:/bin",
		"--change", "ENV GOCACHE=/" + standInCache,
		"--change", "WORKDIR /go",
	}
	for k, v := range runLabels() {
		args = append(args, "--change", fmt.Sprintf("LABEL %s=%q", k, v))
	}
	args = append(args, "-", ref)
	cmd := exec.CommandContext(ctx, "docker", args...)
	pr, pw := io.Pipe()
	cmd.Stdin = pr
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("docker import: %w", err)
	}
	werr := writeTar(pw, files)
	_ = pw.CloseWithError(werr)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("docker import of the stand-in Go image: %w: %s", errors.Join(err, werr), out.Bytes())
	}
	return werr
}

// standInFile is one entry of the stand-in's tarball: src on the host
// (empty for a directory made from nothing) at dst in the image.
type standInFile struct {
	src, dst string
	mode     int64 // tar mode of a directory made from nothing
}

// standInFiles lists the stand-in's files: GOROOT's go command and the
// tools it runs, the sources of the standard packages the programs import
// (stdSources), the CA bundle, /tmp, and /bin/sh with its ELF interpreter
// and libraries.
func standInFiles(ctx context.Context, goroot string) ([]standInFile, error) {
	var files []standInFile
	err := filepath.WalkDir(goroot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(goroot, path)
		// Building the programs needs the go command, its tools and the
		// sources of the packages they import, none of Go's tests, docs,
		// other sources or gofmt.
		if d.IsDir() && slices.Contains([]string{"src", "test", "api", "doc", "lib", "misc"}, rel) ||
			rel == filepath.Join("bin", "gofmt") || !buildTool(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		files = append(files, standInFile{src: path, dst: filepath.Join("usr/local/go", rel)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading GOROOT %s: %w", goroot, err)
	}
	std, err := stdSources(ctx, goroot)
	if err != nil {
		return nil, err
	}
	files = append(files, std...)
	files = append(files,
		standInFile{dst: "tmp", mode: 0o1777},
		standInFile{dst: "go", mode: 0o755},
		standInFile{src: "/etc/ssl/certs/ca-certificates.crt", dst: "etc/ssl/certs/ca-certificates.crt"},
	)
	sh, err := shellFiles("/bin/sh")
	if err != nil {
		return nil, err
	}
	return append(files, sh...), nil
}

// stdSources are the files of GOROOT/src that the Dockerfile's build reads:
// those each standard package the programs import compiles, for that
// build's platform, and the standard library's module files. A package's
// cache key hashes exactly its compiled files, so the keys are those of
// the whole tree (buildCacheFiles); the rest of src, four times as big
// (tests, the toolchain's own sources, other systems' files), is left out.
func stdSources(ctx context.Context, goroot string) ([]standInFile, error) {
	out, err := listPrograms(ctx,
		`{{if .Standard}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{range .SFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}`+
			`{{range .HFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}`)
	if err != nil {
		return nil, err
	}
	paths := []string{"src/go.mod", "src/go.sum", "src/vendor/modules.txt"}
	for line := range strings.Lines(out) {
		rel, err := filepath.Rel(goroot, strings.TrimSpace(line))
		if err != nil || strings.HasPrefix(rel, "..") {
			return nil, fmt.Errorf("go list named %q, outside GOROOT %s", strings.TrimSpace(line), goroot)
		}
		paths = append(paths, rel)
	}
	files := make([]standInFile, len(paths))
	for i, rel := range paths {
		files[i] = standInFile{src: filepath.Join(goroot, rel), dst: filepath.Join("usr/local/go", rel)}
	}
	return files, nil
}

// buildTool reports whether a file of GOROOT, by its path there, is one
// `go build` may run, or not a tool at all: of pkg/tool, the compiler,
// linker, assembler and cgo; cover, vet, fix and the rest (a third of
// the tools' size) are left out.
func buildTool(rel string) bool {
	dir, name := filepath.Split(rel)
	if filepath.Dir(filepath.Clean(dir)) != filepath.Join("pkg", "tool") {
		return true
	}
	switch strings.TrimSuffix(name, ".exe") {
	case "compile", "link", "asm", "cgo":
		return true
	}
	return false
}

// lddLine is a library line of ldd's output: "libc.so.6 => /lib/…/libc.so.6 (0x…)"
// or the interpreter's "/lib64/ld-linux-x86-64.so.2 (0x…)".
var lddLine = regexp.MustCompile(`^\s*(?:\S+ => )?(/\S+) \(0x[0-9a-f]+\)$`)

// shellFiles returns the host's sh as /bin/sh and, if it is dynamically
// linked, its interpreter and libraries at the paths it looks for them.
func shellFiles(sh string) ([]standInFile, error) {
	files := []standInFile{{src: sh, dst: "bin/sh"}}
	f, err := elf.Open(sh)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", sh, err)
	}
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	_ = f.Close()
	if !dynamic {
		return files, nil
	}
	out, err := exec.Command("ldd", sh).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", sh, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := lddLine.FindStringSubmatch(sc.Text()); m != nil {
			files = append(files, standInFile{src: m[1], dst: strings.TrimPrefix(m[1], "/")})
		}
	}
	if len(files) == 1 {
		return nil, fmt.Errorf("ldd %s named no library:\n%s", sh, out)
	}
	return files, nil
}

// writeTar writes files as a tarball, following symbolic links of the host
// (a library path is often one) but keeping those inside GOROOT.
func writeTar(w io.Writer, files []standInFile) error {
	tw := tar.NewWriter(w)
	dirs := map[string]bool{}
	sort.SliceStable(files, func(i, j int) bool { return files[i].dst < files[j].dst })
	for _, f := range files {
		// Parents first: docker import makes missing ones root-only.
		for dir := filepath.Dir(f.dst); dir != "." && !dirs[dir]; dir = filepath.Dir(dir) {
			dirs[dir] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755}); err != nil {
				return err
			}
		}
		if err := writeEntry(tw, f, dirs); err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeEntry(tw *tar.Writer, f standInFile, dirs map[string]bool) error {
	if f.src == "" {
		dirs[f.dst] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: f.dst + "/", Mode: f.mode})
	}
	info, err := os.Lstat(f.src)
	if err != nil {
		return err
	}
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		if strings.HasPrefix(f.dst, "usr/local/go/") {
			if link, err = os.Readlink(f.src); err != nil {
				return err
			}
		} else if info, err = os.Stat(f.src); err != nil {
			return err
		}
	}
	h, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	h.Name, h.Uid, h.Gid, h.Uname, h.Gname = f.dst, 0, 0, "", ""
	if info.IsDir() {
		dirs[f.dst] = true
		h.Name += "/"
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	src, err := os.Open(f.src)
	if err != nil {
		return err
	}
	defer func() { _ = src.Close() }()
	_, err = io.Copy(tw, src)
	return err
}

// goEnv returns `go env NAME` of the Go running the tests.
func goEnv(ctx context.Context, name string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// moduleBuildArgs are the module download settings of the machine running
// the tests, as build arguments for the Dockerfile's builder stage: taken at
// test time, never written into a file of the repository.
func moduleBuildArgs(ctx context.Context) (map[string]string, error) {
	args := map[string]string{}
	for _, name := range []string{"GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GOINSECURE", "GOFLAGS"} {
		v, err := goEnv(ctx, name)
		if err != nil {
			return nil, err
		}
		if v != "" {
			args[name] = v
		}
	}
	return args, nil
}
