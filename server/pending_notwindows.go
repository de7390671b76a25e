//go:build !windows

package server

import (
	"net"

	"golang.org/x/sys/unix"
)

// pending reports whether ln's accept queue holds a connection, by a
// poll(2) that does not wait; false when it cannot tell. The net package
// ends an accept whose deadline has passed before it asks the kernel, so
// a drain's idle window can run out with peers still queued when the
// accept loop waits for the CPU (TestTinyDrainIdleServesTheQueue under
// arm64 emulation on a busy machine: 16 of 20 queued peers reset). A
// timed-out accept is taken as an idle queue only when this says so.
func pending(ln net.Listener) bool {
	ready := false
	_ = control(ln, func(fd int) error {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		ready = err == nil && n > 0 && fds[0].Revents&unix.POLLIN != 0
		return err
	})
	return ready
}
