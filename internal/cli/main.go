package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"

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

// holdStdio opens /dev/null on any of descriptors 0, 1 and 2 that the
// process was started without. Otherwise the first sockets would take
// those numbers, and Go's os package raises SIGPIPE for a write to
// descriptor 1 or 2 that fails with EPIPE: a peer that resets during a
// greeting would kill the server.
func holdStdio() {
	for fd := 0; fd <= 2; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); errors.Is(err, unix.EBADF) {
			// Descriptors are handed out lowest first, so this takes fd.
			_, _ = unix.Open("/dev/null", unix.O_RDWR, 0)
		}
	}
}
