//go:build linux

package main

import (
	"time"

	"github.com/smile-sockets/smile/internal/smiletest/procfs"
)

// rssKiB reads VmRSS of a process; 0 once it is gone.
func rssKiB(pid int) int64 {
	status, err := procfs.ReadStatus(pid)
	if err != nil {
		return 0
	}
	return int64(status["VmRSS"])
}

// sampleRSS samples p's RSS every 20 ms until stop is closed and returns
// the peak.
func sampleRSS(p *proc, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		peak := rssKiB(p.cmd.Process.Pid)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				peak = max(peak, rssKiB(p.cmd.Process.Pid))
			case <-stop:
				out <- max(peak, rssKiB(p.cmd.Process.Pid))
				return
			}
		}
	}()
	return out
}

// addRSS records a peak seen in round (from 1), keeping the largest.
func (p *proc) addRSS(round int, kib int64) {
	for len(p.rss) < round {
		p.rss = append(p.rss, 0)
	}
	p.rss[round-1] = max(p.rss[round-1], kib)
}
