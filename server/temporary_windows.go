package server

import (
	"errors"

	"golang.org/x/sys/windows"
)

// isTemporary reports accept errors that say nothing about the listener
// itself: Winsock out of sockets or buffers, a peer that gave up.
func isTemporary(err error) bool {
	for _, e := range []error{windows.WSAEMFILE, windows.WSAENOBUFS, windows.WSAECONNRESET, windows.WSAECONNABORTED, windows.ERROR_NETNAME_DELETED} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
