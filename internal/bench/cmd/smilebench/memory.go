package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// rssKiB reads VmRSS of a process.
func rssKiB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
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
