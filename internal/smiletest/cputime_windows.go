package smiletest

import "time"

// CPUTime is 0 on Windows, where benchmarks report no CPU time.
func CPUTime() time.Duration { return 0 }
