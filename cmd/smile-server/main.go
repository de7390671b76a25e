// Command smile-server is the Berkeley-sockets tutorial's greeting server:
// socket, bind, listen, accept, write "Smile from the server", close. It
// adds what a tool people test networks with needs: every address family
// and bind mode, SO_REUSEADDR on or off, a real listen(2) backlog, bounded
// concurrency, reverse DNS that never delays a greeting, and a drain on
// SIGTERM that loses no queued connection. The program is package server's
// Run; this file only hands it the process.
package main

import (
	"github.com/smile-sockets/smile/internal/cli"
	"github.com/smile-sockets/smile/server"
)

func main() { cli.Main("smile-server", server.Run, server.Variables()) }
