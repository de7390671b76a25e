// Package client is smile-client: the Berkeley-sockets tutorial's client
// (connect, read the greeting until EOF, print it), with what someone
// checking a network needs: every way to name a host (dotted IPv4, a name,
// IPv6 with or without brackets), one address family at a time, hard
// timeouts, a cause class for every failure, and a probe mode that doubles
// as a load generator and a per-address checker (-each).
//
// Run is the whole program, as cmd/smile-client runs it, so another Go
// program or test gets exactly the real client's output and exit code;
// ParseConfig reads its flags and SMILE_* variables.
//
// The files follow one probe's path: config.go (flags), dial.go (resolve
// and dial every address of a name, RFC 8305 style, keeping each one's
// outcome: race, which a datagram greeting shares), probe.go (read one
// greeting), classify.go (the cause class of a failure), terminal.go
// (escaping server bytes for a terminal), load.go (-count and
// -concurrency), summary.go (the probe-mode summary), json.go (-json
// objects), each.go (-each, one row per address). Datagrams
// (-udp, -pmtu) take their own path: udp.go (resolve, then a greeting, a
// name's addresses tried through dial.go's race, or a series or a path
// MTU search at its first, through package dgram, and the one-line
// error), udp_report.go (what they print, their -json object and -each
// row). A file's suffix says where it builds, as server/doc.go sets
// out: _notwindows (Linux, macOS, FreeBSD), _notlinux, _darwinfreebsd, or
// one system's name.
package client
