//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"

	"github.com/smile-sockets/smile/server"
)

// The address plan: node i (from 1) greets on 127.2.x.y:greetPort and
// serves its row on the same address at httpPort; 250 nodes a /24.
const (
	greetPort = 7890
	httpPort  = 28080
	perNet    = 250
	maxNodes  = 40 * perNet
)

// nodeAddr is node i's address.
func nodeAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 2, byte((i - 1) / perNet), byte((i-1)%perNet + 1)})
}

// nodeArgs are node i's smile-server flags: every node lists every node,
// as a DaemonSet's headless service would, and names no reverse lookups
// (nothing in the namespace answers them).
func nodeArgs(c config, i int, spec string) []string {
	a := nodeAddr(i)
	return []string{
		"-listen", netip.AddrPortFrom(a, greetPort).String(),
		"-http", netip.AddrPortFrom(a, httpPort).String(),
		"-mesh", spec,
		"-mesh-node", fmt.Sprintf("n%04d", i),
		"-mesh-peers", fmt.Sprint(c.k),
		"-mesh-interval", c.interval.String(),
		"-resolve=false",
	}
}

// meshSpec lists every node's greeting address, the -mesh every node gets.
func meshSpec(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		b.WriteString(netip.AddrPortFrom(nodeAddr(i), greetPort).String())
	}
	return b.String()
}

// farm is nodes 2 to N in this process, each server.Run as the program
// runs it, until ctx is done.
type farm struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []string
}

func startFarm(ctx context.Context, c config, spec string) *farm {
	f := &farm{}
	noEnv := func(string) (string, bool) { return "", false }
	for i := 2; i <= c.n; i++ {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			var stderr strings.Builder
			if code := server.Run(ctx, nodeArgs(c, i, spec), noEnv, io.Discard, &stderr); code != 0 && ctx.Err() == nil {
				f.mu.Lock()
				f.errs = append(f.errs, fmt.Sprintf("node %d exited %d: %s", i, code, strings.TrimSpace(stderr.String())))
				f.mu.Unlock()
			}
		}()
	}
	return f
}

// failed is what nodes that ended early said.
func (f *farm) failed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errs...)
}

// startObserved runs node 1 as a smile-server process of its own, the one
// whose memory, matrix and page the run measures.
func startObserved(ctx context.Context, c config, spec string) (*exec.Cmd, error) {
	cmd := exec.CommandContext(ctx, c.server, nodeArgs(c, 1, spec)...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting node 1 (%s): %w", c.server, err)
	}
	return cmd, nil
}

// raiseFiles lifts the descriptor limit as far as this process may (the
// hard limit, or more where it may raise that): a thousand nodes hold two
// listeners each and a round's probes and row fetches in flight, about
// eight descriptors a node at the peak.
func raiseFiles(n int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("reading the descriptor limit: %w", err)
	}
	want := uint64(1 << 20)
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: want}) == nil {
		return nil
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raising the descriptor limit to %d: %w", lim.Max, err)
	}
	if need := uint64(8*n + 1024); lim.Max < need {
		return fmt.Errorf("%d nodes need about %d descriptors; the hard limit is %d", n, need, lim.Max)
	}
	return nil
}
