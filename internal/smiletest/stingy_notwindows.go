//go:build !windows

package smiletest

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// stingy gives a peer's socket a small receive buffer and small segments.
func stingy(_, _ string, raw syscall.RawConn) error {
	var e1, e2 error
	err := raw.Control(func(fd uintptr) {
		e1 = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
		e2 = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_MAXSEG, 536)
	})
	return errors.Join(err, e1, e2)
}
