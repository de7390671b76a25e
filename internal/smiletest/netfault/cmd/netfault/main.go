//go:build linux

// Command netfault puts one fault on the path in the network namespace it
// runs in: see package netfault. The integration suite builds it into a
// FROM scratch image and runs it next to a server or client container.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/smile-sockets/smile/internal/smiletest/netfault"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := netfault.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
