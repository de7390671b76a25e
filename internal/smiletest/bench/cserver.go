//go:build linux

package bench

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The C loops, compiled at run time by BuildCServer and
// BuildCDatagramServer.
var (
	//go:embed c/greet.c
	cSource []byte
	//go:embed c/dgram.c
	cDatagramSource []byte
)

// BuildCServer compiles the C greeting loop (c/greet.c: accept, write,
// close in one thread) with the machine's C compiler into dir and returns
// the program's path. It runs as `PROGRAM GREETING`, prints "listening on
// ADDR" and serves until SIGTERM. The compiler is $CC, else the first of
// cc, gcc and clang on PATH; the error says why there is no program.
func BuildCServer(dir string) (string, error) {
	return buildC(dir, "greet", cSource)
}

// BuildCDatagramServer compiles the C datagram loop (c/dgram.c: recvmsg,
// sendmsg from the address asked, in one thread) as BuildCServer does
// the greeting loop; it runs and prints the same way.
func BuildCDatagramServer(dir string) (string, error) {
	return buildC(dir, "dgram", cDatagramSource)
}

// buildC compiles c/NAME.c, whose text is src, into dir/NAME.
func buildC(dir, name string, src []byte) (string, error) {
	cc, err := cCompiler()
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, name+".c")
	if err := os.WriteFile(file, src, 0o600); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	out, err := exec.Command(cc, "-O2", "-o", bin, file).CombinedOutput()
	if err != nil {
		first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return "", fmt.Errorf("%s failed on c/%s.c: %w: %s", cc, name, err, first)
	}
	return bin, nil
}

func cCompiler() (string, error) {
	if cc := os.Getenv("CC"); cc != "" {
		path, err := exec.LookPath(cc)
		if err != nil {
			return "", fmt.Errorf("no C compiler: CC=%s: %w", cc, err)
		}
		return path, nil
	}
	for _, cc := range []string{"cc", "gcc", "clang"} {
		if path, err := exec.LookPath(cc); err == nil {
			return path, nil
		}
	}
	return "", errors.New("no C compiler: CC is not set and none of cc, gcc, clang is on PATH")
}
