package smiletest

import (
	"errors"
	"syscall"

	"golang.org/x/sys/windows"
)

// stingy gives a peer's socket a small receive buffer; Windows sets no
// segment size from user space.
func stingy(_, _ string, raw syscall.RawConn) error {
	var e1 error
	err := raw.Control(func(fd uintptr) {
		e1 = windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_RCVBUF, 4096)
	})
	return errors.Join(err, e1)
}
