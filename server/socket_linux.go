package server

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// newSocket is socket(2) of type sotype (SOCK_STREAM, SOCK_DGRAM),
// non-blocking and close-on-exec from the start.
func newSocket(family, sotype int) (int, error) {
	return unix.Socket(family, sotype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, protocol(sotype))
}

// defaultBacklog is the kernel's ceiling for listen(2), which is what Go's
// own net.Listen asks for too.
func defaultBacklog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			return n
		}
	}
	return unix.SOMAXCONN
}
