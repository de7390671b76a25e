//go:build !windows

package client

import "golang.org/x/sys/unix"

// isTerminalFd reports whether fd answers the termios query of its OS
// (TCGETS on Linux, TIOCGETA on macOS and FreeBSD: ioctlGetTermios).
func isTerminalFd(fd uintptr) bool {
	_, err := unix.IoctlGetTermios(int(fd), ioctlGetTermios)
	return err == nil
}
