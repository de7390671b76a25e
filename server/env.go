package main

import (
	"flag"

	"github.com/smile-sockets/smile/internal/envflag"
)

// envParse parses flags with SMILE_* defaults. -healthcheck and -version
// are actions, never switched on from the environment.
func envParse(fs *flag.FlagSet, args []string, env func(string) (string, bool)) ([]string, map[string]bool, error) {
	return envflag.Parse(fs, args, env, "healthcheck", "version")
}
