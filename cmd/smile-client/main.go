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
	"github.com/smile-sockets/smile/client"
	"github.com/smile-sockets/smile/internal/cli"
)

func main() { cli.Main("smile-client", client.Run, client.Variables()) }
