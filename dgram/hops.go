package dgram

// Hops is how many routers a datagram crossed, from the TTL (hop limit)
// it arrived with: the initial value is taken to be the smallest of the
// usual ones (64: Linux, macOS, the BSDs; 128: Windows; 255: network
// gear) at or above it, as traceroute-less tools do. -1 for an unknown TTL.
func Hops(ttl int) int {
	switch {
	case ttl <= 0 || ttl > 255:
		return -1
	case ttl <= 64:
		return 64 - ttl
	case ttl <= 128:
		return 128 - ttl
	}
	return 255 - ttl
}
