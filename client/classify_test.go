package client

import (
	"context"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest/matrix"
)

// TestClassify maps the errors of Go's own making to their classes; the
// system's errors, including those a loopback test cannot provoke without
// sending packets elsewhere (unreachable networks and hosts, a firewall's
// reject), are TestClassifyOSErrors'.
func TestClassify(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}, classDNS},
		{&net.OpError{Op: "dial", Err: &net.AddrError{Err: "no suitable address found", Addr: "x"}}, classDNS},
		{&net.OpError{Op: "dial", Err: context.DeadlineExceeded}, classTimeout},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, classTimeout},
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

// osError is one error of the system the test runs on, by its number as
// that system reports it, with the class the client gives it.
type osError struct {
	name  string
	errno syscall.Errno // the number, written out: the system's own value
	named error         // the constant the client's table uses for it
	class string
}

// TestClassifyOSErrors classifies each system's own errors, as a connect
// or a read fails with them there (classify_<os>_test.go lists them),
// and checks that every number is the one the named constant stands for.
func TestClassifyOSErrors(t *testing.T) {
	require.NotEmpty(t, osErrors)
	for _, e := range osErrors {
		t.Run(e.name, func(t *testing.T) {
			require.ErrorIs(t, e.named, e.errno, "%s is %d here", e.name, int(e.errno))
			assert.Equal(t, e.class, classify(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", e.errno)}))
			assert.Equal(t, e.class, classify(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", e.errno)}))
		})
	}
}

// TestDocsClassTable keeps the class table of docs/usage.md to exactly
// Classes(), in order.
func TestDocsClassTable(t *testing.T) {
	b, err := os.ReadFile("../docs/usage.md")
	require.NoError(t, err)
	rows, err := matrix.DocTable(string(b), "| class | means |")
	require.NoError(t, err)
	var got []string
	for _, r := range rows {
		got = append(got, r[0])
	}
	assert.Equal(t, Classes(), got)
}
