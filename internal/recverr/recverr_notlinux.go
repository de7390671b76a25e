//go:build !linux

package recverr

// Supported: only Linux queues ICMP errors with their sender.
const Supported = false

// Enable does nothing: there is no queue to ask for.
func Enable(fd uintptr, v6 bool) error { return nil }

// Read finds nothing: there is no queue.
func Read(fd uintptr) *Report { return nil }
