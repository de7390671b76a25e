//go:build linux

package netfault

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"

	"github.com/smile-sockets/smile/internal/smiletest/hostexec"
	"github.com/smile-sockets/smile/internal/smiletest/naiveudp"
)

// hold keeps the namespace alive until ctx ends, and with -exec runs the
// program in it for each request on the socket (package hostexec). It
// says it holds only once the socket takes requests, so that a test
// waiting for that line can send them at once.
func hold(ctx context.Context, f Fault, stdout, stderr io.Writer) int {
	if f.Exec == "" {
		fmt.Fprintln(stdout, "netfault: holding the network namespace")
		<-ctx.Done()
		return exitOK
	}
	ln, err := hostexec.Listen(f.Exec)
	if err != nil {
		fmt.Fprintf(stderr, "netfault: hold: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "netfault: holding the network namespace, running %s as %d:%d for requests on %s\n", f.Program, f.UID, f.GID, f.Exec)
	srv := hostexec.Server{Program: f.Program, Credential: &syscall.Credential{Uid: f.UID, Gid: f.GID}}
	if err := srv.Serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "netfault: hold: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// parseUser reads hold's -user UID:GID.
func parseUser(v string) (uid, gid uint32, err error) {
	u, g, ok := strings.Cut(v, ":")
	if !ok {
		return 0, 0, fmt.Errorf("bad -user %q: want UID:GID", v)
	}
	uid64, err1 := strconv.ParseUint(u, 10, 32)
	gid64, err2 := strconv.ParseUint(g, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("bad -user %q: want numeric UID:GID", v)
	}
	return uint32(uid64), uint32(gid64), nil
}

// naiveGreeting is what answer-naive sends: smile-server's default
// greeting, so that a client can't tell the two apart by their words.
const naiveGreeting = "Smile from the server"

// answerNaive answers datagrams to port on a dual-stack wildcard socket
// for as long as netfault runs (hold keeps it running), from whatever
// source address the kernel picks (package naiveudp).
func answerNaive(port uint16) error {
	if _, err := naiveudp.Listen("udp", port, []byte(naiveGreeting)); err != nil {
		return fmt.Errorf("answer-naive: %w", err)
	}
	return nil
}
