//go:build !windows

package smiletest

import (
	"syscall"
	"time"
)

// CPUTime is the CPU time this process has used so far, user and system,
// of every thread: a benchmark's cost where its wall time is waiting.
func CPUTime() time.Duration {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
