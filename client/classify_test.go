package client

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/smile-sockets/smile/internal/matrix"
)

// TestClassify maps every error the dialer and reader produce to its
// class, including those a loopback test cannot provoke without sending
// packets elsewhere (unreachable networks and hosts, a firewall's reject).
func TestClassify(t *testing.T) {
	dial := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	cases := []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}, classDNS},
		{&net.OpError{Op: "dial", Err: &net.AddrError{Err: "no suitable address found", Addr: "x"}}, classDNS},
		{dial(unix.ECONNREFUSED), classRefused},
		{dial(unix.ETIMEDOUT), classTimeout},
		{&net.OpError{Op: "dial", Err: context.DeadlineExceeded}, classTimeout},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, classTimeout},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", unix.ECONNRESET)}, classReset},
		{dial(unix.ENETUNREACH), classUnreachable},
		{dial(unix.EHOSTUNREACH), classUnreachable},
		{dial(unix.EACCES), classUnreachable},  // ICMPv6 administratively prohibited
		{dial(unix.EPERM), classUnreachable},   // a local packet filter's reject
		{dial(unix.EADDRNOTAVAIL), classOther}, // no local port free: not the path's fault
		{errEmpty, classEmpty},
		{fmt.Errorf("%w: more than 10 bytes", errTooLarge), classTooLarge},
		{context.Canceled, classOther},
	}
	for _, c := range cases {
		t.Run(c.err.Error(), func(t *testing.T) {
			assert.Equal(t, c.want, classify(c.err))
		})
	}
}

// TestDocsClassTable keeps the class table of docs/usage.md to exactly
// the classes the client gives, in order.
func TestDocsClassTable(t *testing.T) {
	b, err := os.ReadFile("../docs/usage.md")
	require.NoError(t, err)
	rows, err := matrix.DocTable(string(b), "| class | means |")
	require.NoError(t, err)
	var got []string
	for _, r := range rows {
		got = append(got, r[0])
	}
	assert.Equal(t, classes, got)
}
