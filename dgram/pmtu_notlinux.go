//go:build !linux

package dgram

import "errors"

// ErrNoPMTU: the search needs Linux, where don't-fragment can be forced
// past the kernel's cached path MTU and too-big messages are read with
// their sender.
var ErrNoPMTU = errors.New("path MTU search needs Linux")

func setDontFragment(c *Conn) error { return ErrNoPMTU }

func routeMTU(c *Conn) int { return 1500 }
