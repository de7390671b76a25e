//go:build !windows

package server

import (
	"errors"

	"golang.org/x/sys/unix"
)

// isTemporary reports accept errors that say nothing about the listener
// itself: descriptor exhaustion, memory pressure, a peer that gave up.
func isTemporary(err error) bool {
	for _, e := range []error{unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM, unix.ECONNABORTED, unix.EPROTO, unix.EPERM, unix.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
