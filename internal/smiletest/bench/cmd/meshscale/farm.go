//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"

	"github.com/smile-sockets/smile/internal/smiletest/procfs"
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

// perFarm is how many nodes one farm process runs: a process's
// descriptors are bounded (the hard limit may be as low as 20,000 where
// it cannot be raised), and 200 nodes need about 1,600 at the peak.
const perFarm = 200

// farm is nodes 2 to N, run perFarm at a time by farm processes (this
// program again, with -farm FROM-TO), each node the real program
// (server.Run) with its own listeners, rounds and row.
type farm struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	errs  []string
	procs []*exec.Cmd
}

// startFarm starts the farm processes for nodes 2 to c.n.
func startFarm(ctx context.Context, c config) (*farm, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this program to run the farm: %w", err)
	}
	f := &farm{}
	for from := 2; from <= c.n; from += perFarm {
		to := min(from+perFarm-1, c.n)
		cmd := exec.CommandContext(ctx, self, "-inner", c.inner, "-farm", fmt.Sprintf("%d-%d", from, to),
			"-n", fmt.Sprint(c.n), "-k", fmt.Sprint(c.k), "-interval", c.interval.String())
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		if err := cmd.Start(); err != nil {
			return f, fmt.Errorf("starting the farm of nodes %d-%d: %w", from, to, err)
		}
		f.procs = append(f.procs, cmd)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			if err := cmd.Wait(); err != nil && ctx.Err() == nil {
				f.mu.Lock()
				f.errs = append(f.errs, fmt.Sprintf("farm of nodes %d-%d: %v: %s", from, to, err, strings.TrimSpace(stderr.String())))
				f.mu.Unlock()
			}
		}()
	}
	return f, nil
}

// usage is the farm processes' CPU and memory, summed.
func (f *farm) usage() (procfs.Usage, error) {
	var sum procfs.Usage
	for _, cmd := range f.procs {
		u, err := procfs.ReadUsage(cmd.Process.Pid)
		if err != nil {
			return sum, err
		}
		sum.CPU += u.CPU
		sum.RSSKB += u.RSSKB
		sum.HWMKB += u.HWMKB
	}
	return sum, nil
}

// failed is what farm processes that ended early said.
func (f *farm) failed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errs...)
}

// runFarm is a farm process: nodes from to to, until SIGTERM; a node
// that ends early ends the process, saying why.
func runFarm(ctx context.Context, c config, from, to int) error {
	if err := raiseFiles(to - from + 1); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	spec := meshSpec(c.n)
	noEnv := func(string) (string, bool) { return "", false }
	failed := make(chan string, to-from+1)
	var wg sync.WaitGroup
	for i := from; i <= to; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var stderr strings.Builder
			if code := server.Run(ctx, nodeArgs(c, i, spec), noEnv, io.Discard, &stderr); code != 0 && ctx.Err() == nil {
				failed <- fmt.Sprintf("node %d exited %d: %s", i, code, strings.TrimSpace(stderr.String()))
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case why := <-failed:
		err = errors.New(why)
	}
	cancel()
	wg.Wait()
	return err
}

// startObserved runs node 1 as a smile-server process of its own, the one
// whose memory, matrix and page the run measures.
func startObserved(ctx context.Context, c config, spec string) (*exec.Cmd, error) {
	cmd := exec.CommandContext(ctx, c.server, nodeArgs(c, 1, spec)...)
	// As the DaemonSet runs it: GOMEMLIMIT at the pod's memory limit.
	cmd.Env = append(os.Environ(), "GOMEMLIMIT="+c.memLimit)
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
