package server

import (
	"bytes"
	"os"
)

// hostHasIPv6 reports whether any interface has an IPv6 address, as
// /proc/net/if_inet6 lists them: a kernel without IPv6, or with it
// disabled everywhere, lists none.
func hostHasIPv6() bool {
	b, err := os.ReadFile("/proc/net/if_inet6")
	return err == nil && len(bytes.TrimSpace(b)) > 0
}
