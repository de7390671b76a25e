//go:build !windows

package cli

import (
	"errors"

	"golang.org/x/sys/unix"
)

// holdStdio opens /dev/null on any of descriptors 0, 1 and 2 that the
// process was started without. Otherwise the first sockets would take
// those numbers, and Go's os package raises SIGPIPE for a write to
// descriptor 1 or 2 that fails with EPIPE: a peer that resets during a
// greeting would kill the server.
func holdStdio() {
	for fd := 0; fd <= 2; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); errors.Is(err, unix.EBADF) {
			// Descriptors are handed out lowest first, so this takes fd.
			_, _ = unix.Open("/dev/null", unix.O_RDWR, 0)
		}
	}
}
