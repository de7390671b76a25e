package server

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/smile-sockets/smile/internal/envflag"
)

// serverProc is the smile-server process a health check belongs to, as
// /proc shows it.
type serverProc struct {
	pid     int
	args    []string                    // its command line, without the program name
	environ func(string) (string, bool) // its SMILE_* variables; nil when unreadable
}

// findServer finds the smile-server of this health check's container,
// whatever its PID (PID 1, or a child of tini or pause) and whatever the
// name it was installed under: a process running this very executable
// (or, where /proc hides its executable from this user, a program of this
// one's name),
// in this network namespace, that is not a health check itself. PID 1
// wins, then the lowest PID. ok is false when there is none.
func findServer() (srv serverProc, ok bool) {
	selfExe, _ := os.Readlink("/proc/self/exe")
	selfNet, _ := os.Readlink("/proc/self/ns/net")
	selfName := filepath.Base(os.Args[0])
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return srv, false
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids) // PID 1 first, then the lowest
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid)
		cmdline, err := os.ReadFile(dir + "/cmdline")
		argv := splitNUL(cmdline)
		if err != nil || len(argv) == 0 || isHealthcheck(argv[1:]) {
			continue
		}
		if exe, err := os.Readlink(dir + "/exe"); err == nil {
			if exe != selfExe {
				continue
			}
		} else if filepath.Base(argv[0]) != selfName {
			continue
		}
		if ns, err := os.Readlink(dir + "/ns/net"); err == nil && selfNet != "" && ns != selfNet {
			continue // over loopback it could not be reached
		}
		srv = serverProc{pid: pid, args: argv[1:]}
		if environ, err := os.ReadFile(dir + "/environ"); err == nil {
			srv.environ = envflag.Environ(splitNUL(environ))
		}
		return srv, true
	}
	return srv, false
}

// isHealthcheck reports a command line that runs the health check.
func isHealthcheck(args []string) bool {
	for _, a := range args {
		name, val, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "healthcheck" && val != "false" {
			return true
		}
	}
	return false
}

// healthConfig is the configuration the health check checks: the
// server's command line and environment, with the flags given to the
// health check itself winning. own is the health check's environment,
// which stands in for the server's when that cannot be read (another user,
// hidepid): in one container both usually have the same.
func healthConfig(srv serverProc, args []string, own func(string) (string, bool)) (*Config, error) {
	var cfg Config
	var listen listFlag
	fs := newFlagSet(&cfg, &listen)
	rest, _, err := envflag.Parse(fs, srv.args, func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, err
	}
	// The server's flags, as the variables that would set them.
	fromArgs := map[string]string{}
	fs.Visit(func(f *flag.Flag) { fromArgs[envflag.Name(f.Name)] = f.Value.String() })
	if len(rest) == 1 {
		fromArgs[envflag.Name("listen")] = ":" + rest[0]
	}
	environ := srv.environ
	if environ == nil {
		environ = own
	}
	return ParseConfig(args, func(name string) (string, bool) {
		if v, ok := fromArgs[name]; ok {
			return v, true
		}
		return environ(name)
	})
}

func splitNUL(b []byte) []string {
	var out []string
	for _, f := range bytes.Split(b, []byte{0}) {
		if len(f) > 0 {
			out = append(out, string(f))
		}
	}
	return out
}
