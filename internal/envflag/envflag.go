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

// Names lists the variable of every flag of fs except those in skip, for
// tools that check a configuration's variables against the real program.
func Names(fs *flag.FlagSet, skip ...string) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		for _, s := range skip {
			if f.Name == s {
				return
			}
		}
		names = append(names, Name(f.Name))
	})
	return names
}

// Parse parses args into fs, then fills every flag not given on the command
// line from its variable, read through lookup (os.LookupEnv in production,
// a map in tests). Flags may come before or after positional arguments, as
// people type them (`smile-client ::1 7890 -v`); "--" ends the flags.
// Flags named in skip are never read from the environment: actions like
// -version must not be switched on by a stray variable. It returns the
// positional arguments and the set of flags given on the command line.
func Parse(fs *flag.FlagSet, args []string, lookup func(string) (string, bool), skip ...string) (positional []string, given map[string]bool, err error) {
	flagArgs, positional := split(fs, args)
	if err := fs.Parse(flagArgs); err != nil {
		return nil, nil, err
	}
	positional = append(fs.Args(), positional...)
	given = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
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
	return positional, given, err
}

// split separates flags (with their values) from positional arguments.
// An argument that looks like a negative number and names no flag is
// positional, so that `smile-server -1` says "bad port" rather than
// "flag provided but not defined".
func split(fs *flag.FlagSet, args []string) (flagArgs, positional []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		f := fs.Lookup(name)
		if f == nil && len(name) > 0 && name[0] >= '0' && name[0] <= '9' {
			positional = append(positional, a)
			continue
		}
		flagArgs = append(flagArgs, a)
		if f == nil || hasValue {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flagArgs = append(flagArgs, args[i+1])
			i++
		}
	}
	return flagArgs, positional
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
