package kubernetes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

// envPrefix starts every variable the programs read as a flag
// (internal/envflag): -write-timeout is SMILE_WRITE_TIMEOUT.
const envPrefix = "SMILE_"

// program is what one of the binaries says about itself in its -h output:
// the manifests are checked against the real flags, not a copy of them
// that could drift.
type program struct {
	name  string
	flags map[string]flagInfo
}

// flagInfo is one line of flag.PrintDefaults.
type flagInfo struct {
	isBool bool   // takes no value: -each, not -each VALUE
	def    string // the default as printed, unquoted; "" when none is shown
}

// programs are the two binaries, by component ("server", "client").
type programs map[string]*program

// buildPrograms builds ../../cmd/smile-server and ../../cmd/smile-client into a temporary
// directory and reads their flags from -h.
func buildPrograms(t *testing.T) programs {
	t.Helper()
	dir := t.TempDir()
	progs := programs{}
	for _, component := range []string{"server", "client"} {
		name := "smile-" + component
		bin := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", bin, "../../cmd/"+name)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go build ../../cmd/%s:\n%s", name, out)
		p, err := describe(name, bin)
		require.NoError(t, err)
		progs[component] = p
	}
	return progs
}

// describe runs bin -h in an empty environment (so that no SMILE_* of the
// test's own changes a default) and parses its flags.
func describe(name, bin string) (*program, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-h")
	cmd.Env = []string{}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s -h: %w (stderr: %s)", name, err, stderr.Bytes())
	}
	flags, err := parseDefaults(stdout.String())
	if err != nil {
		return nil, fmt.Errorf("%s -h: %w", name, err)
	}
	return &program{name: name, flags: flags}, nil
}

var (
	// flagLine is "  -name", "  -name TYPE" or, for a one-letter boolean,
	// "  -4\tusage" (flag.PrintDefaults keeps those on one line).
	flagLine = regexp.MustCompile(`^  -([^\s=]+)(?: (\S+))?(?:\t(.*))?$`)
	// defaultSuffix ends a usage text that shows a default.
	defaultSuffix = regexp.MustCompile(`\(default (.*)\)$`)
)

// parseDefaults reads the flags out of flag.PrintDefaults output; any
// other line (the usage header) is ignored.
func parseDefaults(help string) (map[string]flagInfo, error) {
	flags := map[string]flagInfo{}
	var last string
	usage := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(help))
	for sc.Scan() {
		line := sc.Text()
		if m := flagLine.FindStringSubmatch(line); m != nil {
			last = m[1]
			flags[last] = flagInfo{isBool: m[2] == ""}
			usage[last] = m[3]
			continue
		}
		if text, ok := strings.CutPrefix(line, "    \t"); ok && last != "" {
			usage[last] = text // a usage text's last line carries the default
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading flags: %w", err)
	}
	if len(flags) == 0 {
		return nil, errors.New("no flags in the -h output")
	}
	for name, text := range usage {
		m := defaultSuffix.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		info := flags[name]
		info.def = m[1]
		if s, err := strconv.Unquote(m[1]); err == nil {
			info.def = s
		}
		flags[name] = info
	}
	return flags, nil
}

// invocation is how one container runs a program: its command-line flags,
// its SMILE_* variables and its positional arguments.
type invocation struct {
	prog       *program
	flags      map[string]string // given on the command line
	env        map[string]string // from SMILE_* variables, by flag name
	positional []string
}

// invoke parses argv the way Go's flag package does (flags end at the
// first non-flag or "--") and env the way internal/envflag does. A flag or
// variable that names no flag of the program is an error: that is how a
// typo in a manifest is caught before a pod crash-loops on it.
func invoke(prog *program, argv []string, env []corev1.EnvVar) (invocation, error) {
	in := invocation{prog: prog, flags: map[string]string{}, env: map[string]string{}}
	var errs []error
	for _, e := range env {
		name, ok := strings.CutPrefix(e.Name, envPrefix)
		if !ok {
			continue
		}
		flagName := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if _, known := prog.flags[flagName]; !known {
			errs = append(errs, fmt.Errorf("%s: no flag -%s in %s", e.Name, flagName, prog.name))
			continue
		}
		in.env[flagName] = e.Value
	}
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if arg == "--" {
			in.positional = argv[i+1:]
			break
		}
		if len(arg) < 2 || arg[0] != '-' {
			in.positional = argv[i:]
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(arg[1:], "-"), "=")
		info, known := prog.flags[name]
		if !known {
			errs = append(errs, fmt.Errorf("flag -%s: no such flag in %s", name, prog.name))
			continue
		}
		if !hasValue && !info.isBool {
			if i+1 == len(argv) {
				errs = append(errs, fmt.Errorf("flag -%s of %s needs a value", name, prog.name))
				break
			}
			i++
			value = argv[i]
		}
		if !hasValue && info.isBool {
			value = "true"
		}
		in.flags[name] = value
	}
	return in, errors.Join(errs...)
}

// value is what the program will use for a flag: the command line wins
// over the environment, which wins over the default.
func (in invocation) value(name string) string {
	if v, ok := in.flags[name]; ok {
		return v
	}
	if v, ok := in.env[name]; ok {
		return v
	}
	return in.prog.flags[name].def
}

// has reports whether a boolean flag is switched on.
func (in invocation) has(name string) bool {
	on, err := strconv.ParseBool(in.value(name))
	return err == nil && on
}

var (
	// makeVar is a simple variable definition: NAME ?= value, :=, ::= or =.
	makeVar = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*(\?=|::=|:=|=)\s*(.*)$`)
	// makeRef is a reference to a variable, $(NAME) or ${NAME}.
	makeRef = regexp.MustCompile(`\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]`)
	// imageRef is an image name of one of the programs with its tag.
	imageRef = regexp.MustCompile(`(?:[a-z0-9.-]+(?::[0-9]+)?/)*smile-(server|client):([A-Za-z0-9_][A-Za-z0-9_.-]*)`)
)

// makefileImages reads the image names the Makefile builds, by component:
// with TAG ?= dev, smile-server:$(TAG) is smile-server:dev. Until the
// Makefile names them, they are smile-<component>:$(TAG), and :dev if it
// has no TAG either, as the project's contract says.
func makefileImages(path string) (map[string]string, error) {
	images := map[string]string{"server": "smile-server:dev", "client": "smile-client:dev"}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return images, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the Makefile: %w", err)
	}
	vars := map[string]string{}
	lines := strings.Split(string(data), "\n")
	for _, line := range lines {
		// Recipe lines start with a tab: TAG=$(TAG) there sets a shell
		// variable, not a make one. The first definition wins, as ?= does.
		if m := makeVar.FindStringSubmatch(line); m != nil {
			if _, seen := vars[m[1]]; !seen {
				vars[m[1]] = strings.TrimSpace(m[3])
			}
		}
	}
	if tag, ok := vars["TAG"]; ok {
		tag = expand(tag, vars)
		images = map[string]string{"server": "smile-server:" + tag, "client": "smile-client:" + tag}
	}
	found := map[string]bool{}
	for _, line := range lines {
		for _, m := range imageRef.FindAllStringSubmatch(expand(line, vars), -1) {
			if !found[m[1]] {
				found[m[1]] = true
				images[m[1]] = m[0]
			}
		}
	}
	return images, nil
}

// expand replaces the variables of a Makefile line with their values, as
// make would for simple definitions; unknown ones are left as they are.
func expand(s string, vars map[string]string) string {
	for range 10 { // nested definitions, without looping on a cycle
		next := makeRef.ReplaceAllStringFunc(s, func(ref string) string {
			if v, ok := vars[makeRef.FindStringSubmatch(ref)[1]]; ok {
				return v
			}
			return ref
		})
		if next == s {
			break
		}
		s = next
	}
	return s
}
