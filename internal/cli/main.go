package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/smile-sockets/smile/internal/envflag"
)

// RunFunc is a whole program: package server's and package client's Run.
type RunFunc func(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int

// Main runs a program with the process's arguments, environment and output,
// and exits with its code. The first SIGINT or SIGTERM cancels the
// program's context, so it stops cleanly (the server drains, the client
// prints what it has); a second one exits at once with ExitFailure, for a
// person at a terminal who will not wait for a drain bounded by
// -write-timeout. Every SMILE_* variable in the environment that is not
// one of variables (the program's own, its Variables function) gets a
// warning on stderr naming the closest real one.
func Main(program string, run RunFunc, variables []string) {
	holdStdio()
	for _, w := range envflag.Unknown(program, variables, os.Environ()) {
		fmt.Fprintln(os.Stderr, w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		cancel()
		sig := <-signals
		fmt.Fprintf(os.Stderr, "%s: %v again: exiting without finishing\n", program, sig)
		os.Exit(ExitFailure)
	}()
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}
