package dgram

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// setDontFragment makes every datagram of c don't-fragment whatever the
// kernel has learnt of the path: IP_PMTUDISC_PROBE (IPV6_PMTUDISC_PROBE
// with IPV6_DONTFRAG) sets DF and ignores the cached path MTU, so that a
// size is tried on the wire rather than refused locally because of an
// earlier search's ICMP message.
func setDontFragment(c *Conn) error {
	rc, err := c.c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if c.IPv6() {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_PROBE)
			if serr == nil {
				// IPV6_DONTFRAG only stops the kernel fragmenting a
				// datagram larger than the interface's MTU, which a search
				// never sends (it stops at that MTU; with PROBE the
				// kernel sizes by the interface, not the cached path):
				// where it is missing (qemu-user's emulation, make
				// unit-arm64) the search is the same without it.
				if err := unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_DONTFRAG, 1); err != nil && err != unix.ENOPROTOOPT {
					serr = err
				}
			}
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("don't-fragment: %w", err)
	}
	return nil
}

// routeMTU is the MTU the kernel holds for c's route (IP_MTU, IPV6_MTU),
// 1500 if it says nothing.
func routeMTU(c *Conn) int {
	mtu := 1500
	if rc, err := c.c.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			var m int
			var err error
			if c.IPv6() {
				m, err = unix.GetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_MTU)
			} else {
				m, err = unix.GetsockoptInt(int(fd), unix.SOL_IP, unix.IP_MTU)
			}
			if err == nil && m > 0 {
				mtu = m
			}
		})
	}
	return mtu
}
