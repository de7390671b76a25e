//go:build darwin || freebsd

package server

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// newSocket is socket(2) of type sotype (SOCK_STREAM, SOCK_DGRAM), made
// non-blocking and close-on-exec before any child could inherit it:
// darwin's socket(2) takes neither flag, so the fork lock holds off exec
// as net's own sockets do.
func newSocket(family, sotype int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Socket(family, sotype, protocol(sotype))
	if err != nil {
		return -1, err
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// defaultBacklog is the kernel's ceiling for listen(2), kern.ipc.somaxconn,
// which is what Go's own net.Listen asks for too.
func defaultBacklog() int {
	if n, err := unix.SysctlUint32("kern.ipc.somaxconn"); err == nil && n > 0 {
		return int(n)
	}
	return unix.SOMAXCONN
}
