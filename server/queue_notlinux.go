//go:build !linux

package server

import (
	"errors"
	"net"
)

// Outside Linux a listening socket has neither the SYN filter nor
// TCP_INFO's queue counts, so a drain serves until its queue stays empty
// for the idle window, at most drainLimit (drain.go's untilLimit), and the
// start line reports the backlog asked for. docs/platforms.md lists this.

// errNoSYNFilter says the kernel cannot hold off new handshakes.
var errNoSYNFilter = errors.New("no socket filter for new handshakes on this OS")

func dropNewSYNs(net.Listener) error { return errNoSYNFilter }

func kernelBacklog(_ net.Listener, asked int) int { return asked }

func queueLen(net.Listener) int { return -1 }
