// Package server is smile-server: the Berkeley-sockets tutorial's greeting
// server (socket, bind, listen, accept, write "Smile from the server",
// close), with what a tool people test networks with needs: every address
// family and bind mode, SO_REUSEADDR on or off, a real listen(2) backlog,
// bounded concurrency, reverse DNS that never delays a greeting, and a
// drain on SIGTERM that loses no queued connection.
//
// Run is the whole program, as cmd/smile-server runs it. Another Go program
// or a test that wants a smile server of its own makes one with New and
// hands Serve a listener it opened itself, for example on 127.0.0.1:0;
// ParseConfig reads the program's flags and SMILE_* variables, for tools
// that check a command line (a Kubernetes manifest's args and env) against
// the real parser.
package server
