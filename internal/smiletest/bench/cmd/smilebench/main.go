//go:build linux

// Command smilebench measures the built smile-server and smile-client on
// loopback against reference programs of its own, in interleaved rounds so
// that drift on a shared machine cancels, and prints medians and ratios.
//
//	go run ./internal/smiletest/bench/cmd/smilebench -bin bin
//
// The reference servers and the minimal load loop run as child processes
// of this same binary (-role), or, for the C loop, as a program compiled
// at run time, so that every server and every client is a process of its
// own, as smile-server and smile-client are. Nothing is sent anywhere but
// 127.0.0.0/8, and a network namespace of its own for the loss rows.
// -only runs some groups of rows: tcp (the table's greeting rows), matrix
// (a mesh node's -http under clients holding /matrix.json, rowfarm.go),
// udp (datagrams against a C recvmsg loop), meshscale, loss (loss.go).
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	role := flag.String("role", "", "internal: run as baseline, sequential, dial, dgram, farm or rowfarm")
	var o options
	flag.StringVar(&o.bin, "bin", "bin", "directory holding smile-server and smile-client")
	flag.IntVar(&o.rounds, "rounds", 7, "interleaved rounds")
	count := flag.Int("count", 12000, "probes per round and row")
	workers := flag.Int("workers", 8, "probes in flight")
	flag.IntVar(&o.seqCount, "seq-count", 2, "probes per round for the sequential server (each costs the resolve timeout)")
	resolveTimeout := flag.Duration("resolve-timeout", 2*time.Second, "reverse-lookup bound of the sequential server (smile-server's default)")
	flag.BoolVar(&o.strict, "strict", false, "exit 1 when a ratio misses its target too")
	flag.IntVar(&o.meshRounds, "mesh-rounds", 10, "mesh rounds measured per mesh-scale row")
	only := flag.String("only", "", "run only these groups of rows, comma-separated: "+strings.Join(groups, ", ")+" (default: all; the SVG is drawn only when all run)")
	flag.StringVar(&o.svg, "svg", "", "draw conn/s and p99 per row, the C loop as reference, as an SVG in this file")
	// Child roles.
	addr := flag.String("addr", "", "dial: server address")
	sources := flag.String("sources", "", "dial: source addresses FIRST-LAST, e.g. 127.0.0.2-127.0.0.9")
	readTimeout := flag.Duration("read-timeout", 5*time.Second, "dial: bound on reading one greeting")
	dns := flag.String("resolver", "", "sequential: DNS server for reverse lookups")
	port := flag.Int("port", 0, "farm, rowfarm: the port every address greets on")
	httpPort := flag.Int("http-port", 0, "rowfarm: the port every address serves its /mesh.json on")
	size := flag.Int("size", dgramSize, "dgram: bytes of each request")
	flag.Parse()
	o.count, o.workers, o.resolveTimeout = *count, *workers, *resolveTimeout
	var err error
	if o.only, err = parseOnly(*only); err != nil {
		fmt.Fprintf(os.Stderr, "smilebench: -only: %v\n", err)
		os.Exit(2)
	}

	switch *role {
	case "":
		os.Exit(orchestrate(o))
	case "baseline", "sequential":
		os.Exit(serveRole(*role, *dns, *resolveTimeout))
	case "farm":
		os.Exit(farmRole(*sources, *port))
	case "rowfarm":
		os.Exit(rowFarmRole(*sources, *port, *httpPort))
	case "dgram":
		os.Exit(dgramRole(*addr, *count, *workers, *size, *readTimeout))
	case "dial":
		os.Exit(dialRole(*addr, *count, *workers, *sources, *readTimeout))
	}
	fmt.Fprintf(os.Stderr, "smilebench: unknown -role %q\n", *role)
	os.Exit(2)
}

// parseOnly reads -only's list into the set of groups; "" is every group
// (an empty set).
func parseOnly(s string) (map[string]bool, error) {
	sel := map[string]bool{}
	if s == "" {
		return sel, nil
	}
	for g := range strings.SplitSeq(s, ",") {
		if !slices.Contains(groups, g) {
			return nil, fmt.Errorf("unknown group %q: want some of %s", g, strings.Join(groups, ", "))
		}
		sel[g] = true
	}
	return sel, nil
}
