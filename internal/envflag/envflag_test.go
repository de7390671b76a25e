package envflag

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// listValue is a repeatable flag, like smile-server's -listen.
type listValue []string

func (l *listValue) String() string     { return strings.Join(*l, ",") }
func (l *listValue) Set(v string) error { *l = append(*l, v); return nil }

type values struct {
	v       bool
	count   int
	timeout time.Duration
	expect  string
	listen  listValue
	version bool
}

func flagSet(v *values) *flag.FlagSet {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&v.v, "v", false, "")
	fs.IntVar(&v.count, "count", 1, "")
	fs.DurationVar(&v.timeout, "read-timeout", time.Second, "")
	fs.StringVar(&v.expect, "expect", "", "")
	fs.Var(&v.listen, "listen", "")
	fs.BoolVar(&v.version, "version", false, "")
	return fs
}

func env(kv ...string) func(string) (string, bool) { return Environ(kv) }

func TestName(t *testing.T) {
	for in, want := range map[string]string{"max-conns": "SMILE_MAX_CONNS", "v": "SMILE_V", "read-timeout": "SMILE_READ_TIMEOUT", "4": "SMILE_4"} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		env   []string
		pos   []string
		given []string
		want  values
		err   string
	}{
		{"defaults", nil, nil, nil, nil, values{count: 1, timeout: time.Second}, ""},
		{"environment fills", nil, []string{"SMILE_COUNT=5", "SMILE_V=true", "SMILE_READ_TIMEOUT=2s", "SMILE_LISTEN=:1"},
			nil, nil, values{v: true, count: 5, timeout: 2 * time.Second, listen: listValue{":1"}}, ""},
		{"command line wins", []string{"-count", "3"}, []string{"SMILE_COUNT=5"}, nil, []string{"count"}, values{count: 3, timeout: time.Second}, ""},
		{"flags after positionals", []string{"::1", "7890", "-v", "-count=2"}, nil, []string{"::1", "7890"}, []string{"count", "v"},
			values{v: true, count: 2, timeout: time.Second}, ""},
		{"double dash ends flags", []string{"-v", "--", "-count", "3"}, nil, []string{"-count", "3"}, []string{"v"}, values{v: true, count: 1, timeout: time.Second}, ""},
		{"negative number is positional", []string{"-1"}, nil, []string{"-1"}, nil, values{count: 1, timeout: time.Second}, ""},
		{"-- prefix works", []string{"--count", "4"}, nil, nil, []string{"count"}, values{count: 4, timeout: time.Second}, ""},
		{"actions not from the environment", nil, []string{"SMILE_VERSION=true"}, nil, nil, values{count: 1, timeout: time.Second}, ""},
		{"empty environment value is a value", nil, []string{"SMILE_EXPECT="}, nil, nil, values{count: 1, timeout: time.Second}, ""},
		{"bad environment value", nil, []string{"SMILE_COUNT=x"}, nil, nil, values{}, `invalid value "x" for SMILE_COUNT: parse error`},
		{"bad flag value", []string{"-count", "x"}, nil, nil, nil, values{}, `invalid value "x" for flag -count: parse error`},
		{"unknown flag", []string{"-nope"}, nil, nil, nil, values{}, `flag provided but not defined: -nope`},
		{"missing value", []string{"-count"}, nil, nil, nil, values{}, `flag needs an argument: -count`},
		{"help", []string{"-h"}, nil, nil, nil, values{}, flag.ErrHelp.Error()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got values
			pos, given, err := Parse(flagSet(&got), c.args, env(c.env...), "version")
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("error = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("values = %+v, want %+v", got, c.want)
			}
			if fmt.Sprint(pos) != fmt.Sprint(c.pos) {
				t.Errorf("positional = %q, want %q", pos, c.pos)
			}
			if fmt.Sprint(slices.Sorted(maps.Keys(given))) != fmt.Sprint(c.given) {
				t.Errorf("given = %v, want %v", given, c.given)
			}
		})
	}
}

// FuzzParse feeds random arguments and environments (NUL-separated) to
// Parse: it never panics, and a flag given on the command line keeps the
// value the command line gave it, whatever the environment says.
func FuzzParse(f *testing.F) {
	f.Add("-v\x00-count\x003\x00host", "SMILE_COUNT=5\x00SMILE_LISTEN=:1")
	f.Add("--\x00-count", "SMILE_V=maybe")
	f.Add("-listen=:1\x00-listen\x00[::1]:2\x00-1", "SMILE_READ_TIMEOUT=1h\x00SMILE_VERSION=true")
	f.Add("---count=2\x00-=\x00-\x00--", "=\x00SMILE_=x\x00SMILE_EXPECT")
	f.Add("-h", "")
	f.Fuzz(func(t *testing.T, argv, environ string) {
		var args, kv []string
		if argv != "" {
			args = strings.Split(argv, "\x00")
		}
		if environ != "" {
			kv = strings.Split(environ, "\x00")
		}
		var withEnv, alone values
		pos, given, err := Parse(flagSet(&withEnv), args, env(kv...), "version")
		pos0, given0, err0 := Parse(flagSet(&alone), args, env(), "version")
		if (err0 == nil) != (err == nil) && err0 != nil {
			t.Fatalf("the environment made a bad command line good: %v", err0)
		}
		if err != nil || err0 != nil {
			if errors.Is(err, flag.ErrHelp) != errors.Is(err0, flag.ErrHelp) {
				t.Fatalf("help depends on the environment: %v / %v", err, err0)
			}
			return
		}
		if fmt.Sprint(pos) != fmt.Sprint(pos0) || !reflect.DeepEqual(given, given0) {
			t.Fatalf("positionals or given flags depend on the environment: %q %v / %q %v", pos, given, pos0, given0)
		}
		if withEnv.version != alone.version {
			t.Fatal("-version switched by the environment")
		}
		for name := range given {
			if a, b := flagValue(&withEnv, name), flagValue(&alone, name); a != b {
				t.Fatalf("flag %s given as %q but the environment made it %q", name, b, a)
			}
		}
	})
}

func flagValue(v *values, name string) string {
	switch name {
	case "v":
		return fmt.Sprint(v.v)
	case "count":
		return fmt.Sprint(v.count)
	case "read-timeout":
		return v.timeout.String()
	case "expect":
		return v.expect
	case "version":
		return fmt.Sprint(v.version)
	case "listen":
		return v.listen.String()
	}
	return ""
}
