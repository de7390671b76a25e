// Command smile-client is the Berkeley-sockets tutorial's client: connect,
// read the greeting, print it. It adds what someone checking a network
// needs: every way to name a host (dotted IPv4, a name, IPv6 with or
// without brackets), one address family at a time, hard timeouts, a cause
// class for every failure, and a probe mode that doubles as a load
// generator.
// The program is package client's Run; this file only hands it the
// process.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/smile-sockets/smile/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := client.Run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
