// Package envflag gives every command-line flag an environment default,
// SMILE_<FLAG>, so that containers and Kubernetes can configure the
// programs without a shell to build argument lists. A flag given on the
// command line always wins.
package envflag

import (
	"flag"
	"fmt"
	"strings"
)

// Prefix starts every variable name.
const Prefix = "SMILE_"

// Name is the variable for a flag: -max-conns is SMILE_MAX_CONNS.
func Name(flagName string) string {
	return Prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, then fills every flag not given on the command
// line from its variable, read through lookup (os.LookupEnv in production,
// a map in tests). Flags named in skip are never read from the
// environment: actions like -version must not be switched on by a stray
// variable. It returns the set of flags given on the command line.
func Parse(fs *flag.FlagSet, args []string, lookup func(string) (string, bool), skip ...string) (map[string]bool, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] || skipped[f.Name] {
			return
		}
		v, ok := lookup(Name(f.Name))
		if !ok {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("invalid value %q for %s: %w", v, Name(f.Name), e)
		}
	})
	return given, err
}

// Environ turns KEY=VALUE lines (os.Environ, /proc/PID/environ) into a
// lookup function.
func Environ(env []string) func(string) (string, bool) {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}
