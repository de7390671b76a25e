//go:build !linux

package server

import "net/netip"

// mappedSource: elsewhere an IPv4-mapped peer of a dual-stack socket is
// answered from the source the kernel picks.
func mappedSource(netip.Addr) []byte { return nil }
