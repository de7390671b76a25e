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
//
// The files follow one connection's path: run.go (the program: flags,
// listeners, serve, drain, exit), config.go (flags and SMILE_* variables),
// listen.go (one -listen address to its sockets), listen_<os>.go (the
// socket built: socket, setsockopt, bind, then listen), socket_<os>.go
// (socket(2) itself and the default backlog), hostipv6_<os>.go (whether
// the host has IPv6 at all), core.go (what a greeting needs whatever
// carries it: the greeting, the log line, names, counters, the work in
// flight), serve.go (Server, New, the accept loop Serve, Wait, and the
// stream side's own state), fastpath_linux.go and sys_linux.go (Linux's
// accept-and-greet in place, with raw system calls), slots.go
// (-max-conns), linger.go,
// linger_<os>.go and lingerset_linux.go (the lingering close after the
// greeting), names.go (reverse DNS off the critical path), logging.go and
// logging_<os>.go (the log line and its writer), stats.go and metrics.go
// (counters, Stats, Prometheus), side.go (-http and -mesh beside the
// greetings), drain.go, queue_<os>.go and pending_<os>.go (the drain on
// SIGTERM: hold off new handshakes, serve the queue), temporary_<os>.go
// (accept errors that are not the listener's fault), healthcheck.go and
// findserver.go (-healthcheck). Datagrams (-udp) take their own path:
// udp_listen.go (a UDP socket beside each listener), udp.go (read each
// datagram whole, answer it or count why not), udp_pktinfo.go and
// udp_pktinfo_<os>.go (answer from the address it was sent to; on Linux
// in batches, with raw recvmmsg and sendmmsg),
// udp_health.go (-healthcheck over a datagram). zones.go names a
// link-local peer's interface for both paths' log lines.
//
// The Server's core holds nothing of a connection's, so the datagram side
// (Server.udp) shares the greeting, the log, the names and the drain's
// window with the stream side; slots, lingering and the linger set
// (tcpSide) are the stream side's alone.
//
// # File names and systems
//
// smile builds for Linux, macOS (darwin), FreeBSD and Windows. A file's
// last word before .go says where it builds:
//
//	(none)          every system
//	_linux          Linux alone; likewise _darwin, _freebsd, _windows (Go's own rule)
//	_notlinux       //go:build !linux: macOS, FreeBSD, Windows
//	_notwindows     //go:build !windows: Linux, macOS, FreeBSD
//	_darwinfreebsd  //go:build darwin || freebsd: macOS and FreeBSD
//
// Go reads a lone system name itself; it reads no run-together name, so
// those files say the same in their //go:build line. A name never means
// more or less than it says: no _unix (Go's unix tag is a dozen systems),
// no _other, no _bsd. The word before the suffix is the idea, so files of
// one idea differ only in their suffix and never overlap on a system.
//
// Who supplies what, per system:
//
//	                        linux                    darwin, freebsd                 windows
//	listenSocket, noIPv6    listen_notwindows.go     listen_notwindows.go            listen_windows.go
//	bindSocket, fileSocket  listen_notwindows.go     listen_notwindows.go            (listenConfig, listen_windows.go)
//	newSocket               socket_linux.go          socket_darwinfreebsd.go         (net.ListenConfig)
//	defaultBacklog          socket_linux.go          socket_darwinfreebsd.go         listen_windows.go
//	hostHasIPv6             hostipv6_linux.go        hostipv6_notlinux.go            hostipv6_notlinux.go
//	newFastListener         fastpath_linux.go        fastpath_notlinux.go            fastpath_notlinux.go
//	acceptConn, serveConn   fastpath_linux.go        fastpath_notlinux.go            fastpath_notlinux.go
//	lingerSet               lingerset_linux.go       fastpath_notlinux.go (none)     fastpath_notlinux.go (none)
//	dropUntilFIN            linger_linux.go          linger_notlinux.go              linger_notlinux.go
//	dropNewSYNs             queue_linux.go           queue_notlinux.go (none)        queue_notlinux.go (none)
//	kernelBacklog           queue_linux.go           queue_notlinux.go (asked)       queue_notlinux.go (asked)
//	queueLen                queue_linux.go           queue_notlinux.go (-1)          queue_notlinux.go (-1)
//	pending                 pending_notwindows.go    pending_notwindows.go           pending_windows.go (false)
//	isTemporary             temporary_notwindows.go  temporary_notwindows.go         temporary_windows.go
//	listenUDPSocket         udp_listen_notwindows.go  udp_listen_notwindows.go       udp_listen_windows.go
//	platformPktConn         udp_pktinfo_linux.go     udp_pktinfo_notlinux.go (none)  udp_pktinfo_notlinux.go (none)
//	pollableStdout          logging_linux.go         logging_notlinux.go             logging_notlinux.go
//
// docs/platforms.md says what these differences mean for a user;
// TestSystemFilesMapped checks this table against the files.
package server
