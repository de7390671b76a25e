// Package dgram is smile's datagram side that both smile-client and the
// mesh use: the probe header's wire format (docs/datagrams.md, "Wire
// format") and the path measurements made with it, each over a UDP
// socket connected to one server address.
//
// The files follow a datagram: header.go (the header, and the server's
// answer to a probe: never longer than the probe), conn.go (the
// connected socket, with each answer's TTL and the ICMP errors of the
// error queue), greet.go (an ordinary greeting over a datagram),
// series.go (loss, duplicates, reordering and round trips of a series of
// probes), hops.go (routers crossed, from the TTL), pmtu.go (the path MTU
// search with don't-fragment datagrams; pmtu_linux.go sets the socket
// options).
package dgram
