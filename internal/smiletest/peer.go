package smiletest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/nettest"
)

// Peer is how a test client behaves: well-behaved (Greet) or a slow
// reader that makes the server's writes stall (Stingy, then never read).
type Peer struct {
	Network string        // "tcp" unless set: "tcp4", "tcp6"
	Src     string        // source address, "" for the kernel's choice
	Stingy  bool          // a tiny receive window and segment size
	Timeout time.Duration // bound on reading the greeting; 10 s unless set
}

// ErrConnect marks a Greet that failed before the connection was made.
var ErrConnect = errors.New("connect")

// Dial connects to addr.
func (p Peer) Dial(addr string) (*net.TCPConn, error) {
	d := net.Dialer{Timeout: 3 * time.Second}
	if p.Src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(p.Src)}
	}
	if p.Stingy {
		// Loopback's 64 KiB segments let the server's send buffer grow to
		// megabytes; small segments and window keep it near 16 KiB, so a
		// large greeting to a peer that never reads really blocks.
		d.Control = stingy
	}
	network := p.Network
	if network == "" {
		network = "tcp"
	}
	conn, err := d.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	return conn.(*net.TCPConn), nil
}

// Greet is a well-behaved client: connect, read to EOF, close. It returns
// what it read; an error after the connection was made keeps the bytes.
func (p Peer) Greet(addr string) (string, error) {
	conn, err := p.Dial(addr)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrConnect, err)
	}
	defer conn.Close()
	d := p.Timeout
	if d == 0 {
		d = 10 * time.Second
	}
	_ = conn.SetDeadline(time.Now().Add(d))
	got, err := io.ReadAll(conn)
	return string(got), err
}

// FreePort finds a TCP port free on both loopback addresses right now.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if ln6, err := net.Listen("tcp6", fmt.Sprintf("[::1]:%d", port)); err == nil {
			_ = ln6.Close()
			return port
		} else if !SupportsIPv6() {
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// SupportsIPv6 reports whether ::1 works here.
func SupportsIPv6() bool { return nettest.SupportsIPv6() }

// RequireIPv6 skips a test where the host truly lacks IPv6, and only there.
func RequireIPv6(t testing.TB) {
	t.Helper()
	if !SupportsIPv6() {
		t.Skip("host has no IPv6 loopback (::1)")
	}
}
