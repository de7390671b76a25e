// Package cli is what the two programs' Run functions share: the exit codes
// scripts rely on, and the answer to -h, a usage error and -version, which
// must read the same in both.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/smile-sockets/smile/internal/version"
)

// Exit codes, as the README's exit-code table promises.
const (
	ExitOK      = 0 // every probe succeeded, or a clean shutdown
	ExitFailure = 1 // a probe failed, or the server failed at run time
	ExitUsage   = 2 // a bad flag, port or address
)

// Prelude handles what comes before the program's own work: help on -h
// (exit 0), a one-line usage error naming what was wrong (exit 2), and the
// version (exit 0). done is false when the program should go on.
func Prelude(program string, parseErr error, printVersion bool, usage func(io.Writer), stdout, stderr io.Writer) (code int, done bool) {
	switch {
	case errors.Is(parseErr, flag.ErrHelp):
		usage(stdout)
		return ExitOK, true
	case parseErr != nil:
		fmt.Fprintf(stderr, "%s: %v\n", program, parseErr)
		return ExitUsage, true
	case printVersion:
		fmt.Fprintln(stdout, version.String(program))
		return ExitOK, true
	}
	return 0, false
}
