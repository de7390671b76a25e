//go:build linux

// Command meshscale is `make mesh-scale`: N real mesh nodes on one
// machine, each on a loopback address of its own, in a network namespace
// of their own with connection tracking off there, so that a scale run
// neither fills the host's conntrack table nor sends a packet outside the
// namespace. Node 1 is a smile-server process, measured as a deployment
// would measure it (CPU, RSS, /matrix.json, the page); nodes 2 to N run
// in farm processes of 200 nodes each (this program again), each node the
// real program (server.Run) with its own listeners, rounds and row, so
// that a thousand nodes fit in memory and in a process's descriptors.
//
// It prints per-node CPU a round and RSS, the matrix's size and the time
// to gather and serve it, and how long a headless Chromium takes to draw
// the page (docs/mesh.md, "The mesh at scale").
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is what a run is asked for.
type config struct {
	n        int           // nodes
	k        int           // -mesh-peers
	rate     int           // probes a second the whole namespace is held to
	interval time.Duration // -mesh-interval; 0: scaled from n, k and rate
	rounds   int           // measured rounds
	warmup   int           // rounds before measuring; 0: until every node has probed all its turns
	server   string        // the smile-server binary node 1 runs
	memLimit string        // node 1's GOMEMLIMIT
	chromium string        // the browser that draws the page; "": found on PATH
	inner    string        // set when running inside the namespace
	farm     string        // set in a farm process: the nodes it runs, FROM-TO
}

func main() {
	var c config
	flag.IntVar(&c.n, "n", 200, "mesh nodes")
	flag.IntVar(&c.k, "k", 100, "peer addresses each node probes a round (-mesh-peers)")
	flag.IntVar(&c.rate, "rate", 2000, "probes a second, all nodes together, that the interval is scaled to")
	flag.DurationVar(&c.interval, "interval", 0, "-mesh-interval (default: scaled so that the nodes probe -rate a second)")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds measured after the warm-up")
	flag.IntVar(&c.warmup, "warmup", 0, "rounds before measuring (default: until every node has probed all its ⌈N/K⌉ turns)")
	flag.StringVar(&c.server, "server", "bin/smile-server", "the smile-server binary node 1 runs")
	flag.StringVar(&c.memLimit, "memlimit", "64MiB", "node 1's GOMEMLIMIT, as the DaemonSet sets it from its memory limit")
	flag.StringVar(&c.chromium, "chromium", os.Getenv("SMILE_CHROMIUM"), "headless browser for the page's draw time (default: chromium on PATH)")
	flag.StringVar(&c.inner, "inner", "", "(internal) the namespace this process already runs in")
	flag.StringVar(&c.farm, "farm", "", "(internal) run nodes FROM-TO of the farm in this process")
	flag.Parse()
	if err := c.check(); err != nil {
		fmt.Fprintf(os.Stderr, "meshscale: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	var from, to int
	switch {
	case c.farm != "":
		if _, serr := fmt.Sscanf(c.farm, "%d-%d", &from, &to); serr != nil || from < 2 || to < from || to > c.n {
			err = fmt.Errorf("bad -farm %q: want FROM-TO within 2-%d", c.farm, c.n)
		} else {
			err = runFarm(ctx, c, from, to)
		}
	case c.inner == "":
		err = outside(ctx, c)
	default:
		err = inside(ctx, c)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "meshscale: %v\n", err)
		os.Exit(1)
	}
}

// check refuses what cannot run: fewer than two nodes, more than the
// namespace's address plan holds, or a rate the interval cannot follow.
func (c *config) check() error {
	switch {
	case c.n < 2 || c.n > maxNodes:
		return fmt.Errorf("bad -n %d: want 2 to %d nodes", c.n, maxNodes)
	case c.k < 1:
		return fmt.Errorf("bad -k %d: want at least 1", c.k)
	case c.rate < 1:
		return fmt.Errorf("bad -rate %d: want at least 1 probe a second", c.rate)
	case c.warmup < 0:
		return fmt.Errorf("bad -warmup %d: want 0 or more rounds", c.warmup)
	case c.rounds < 1:
		return fmt.Errorf("bad -rounds %d: want at least 1", c.rounds)
	case c.interval < 0:
		return fmt.Errorf("bad -interval %v: want a positive duration", c.interval)
	}
	if c.interval == 0 {
		c.interval = scaledInterval(c.n, c.k, c.rate)
	}
	return nil
}

// scaledInterval is the round interval at which n nodes probing
// min(k, n-1) peers each send rate probes a second: never under two
// seconds, so a round's probes and row fetches fit well inside it.
func scaledInterval(n, k, rate int) time.Duration {
	probes := n * min(k, n-1)
	d := time.Duration(probes) * time.Second / time.Duration(rate)
	return max(d.Round(time.Second), 2*time.Second)
}
