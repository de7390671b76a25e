// Package netfault puts real faults on the path between a smile client and
// server: packet filters (drop, reject with a TCP reset or an ICMP/ICMPv6
// error, drop what a port sends, drop big packets) and route removal, in the
// network namespace it runs in and nowhere else. The integration suite runs
// it from a FROM scratch image with `--network container:<target>
// --cap-add NET_ADMIN`, so it needs neither a shell, nor iptables/nft/ip
// binaries, nor the host's process IDs (rootless Docker, Docker Desktop),
// and never touches the host's own namespace.
package netfault

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Exit codes: 0 the fault is in place, 1 the kernel refused it, 2 usage.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const usageText = `Usage: netfault FAULT [flags]

Puts one fault into the network namespace netfault runs in.

  drop-syn   [-family F] [-port N]   drop incoming SYNs to the port (a firewall's DROP)
  reject-syn -with R [-family F] [-port N]
                                     reject them; R is tcp-reset, icmp-unreachable
                                     (IPv4 host, IPv6 address unreachable) or
                                     icmp-admin-prohibited
  drop-sent  [-family F] [-port N]   let the handshake through, drop everything else
                                     the port sends (the greeting and the FIN)
  drop-larger -than N [-family F]    drop every outgoing packet over N bytes without an
                                     ICMP error (a path MTU black hole)
  unroute ADDR                       remove every route that reaches ADDR, the default
                                     route of its family included
  clear                              remove every packet-filter fault netfault put here
  hold                               keep the namespace alive until SIGTERM or SIGINT

F is ipv4, ipv6 or all (default all); the port defaults to 7890.
`

// Run is the whole program behind main: it applies the fault named by
// args[0] and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprint(stderr, usageText)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	f, err := Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "netfault: %v\n", err)
		return exitUsage
	}
	if f.Kind == "hold" {
		fmt.Fprintln(stdout, "netfault: holding the network namespace")
		<-ctx.Done()
		return exitOK
	}
	if err := f.Apply(); err != nil {
		fmt.Fprintf(stderr, "netfault: %s: %v\n", f, err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "netfault: %s\n", f)
	return exitOK
}

// Fault is one parsed fault.
type Fault struct {
	Kind   string     // drop-syn, reject-syn, drop-sent, drop-larger, unroute, clear, hold
	Family string     // ipv4, ipv6 or all
	Port   uint16     // the server's port
	With   string     // reject-syn: tcp-reset, icmp-unreachable, icmp-admin-prohibited
	Than   int        // drop-larger: the largest packet that passes, in bytes
	Addr   netip.Addr // unroute: the destination to make unreachable
}

// String says what the fault does, for the one line netfault prints.
func (f Fault) String() string {
	switch f.Kind {
	case "drop-syn":
		return fmt.Sprintf("dropping %s SYNs to port %d", f.familyWord(), f.Port)
	case "reject-syn":
		return fmt.Sprintf("rejecting %s SYNs to port %d with %s", f.familyWord(), f.Port, f.With)
	case "drop-sent":
		return fmt.Sprintf("dropping what port %d sends over %s after its SYN-ACK", f.Port, f.familyWord())
	case "drop-larger":
		return fmt.Sprintf("dropping outgoing %s packets over %d bytes", f.familyWord(), f.Than)
	case "unroute":
		return "removing the routes to " + f.Addr.String()
	case "clear":
		return "removing every packet-filter fault"
	}
	return f.Kind
}

func (f Fault) familyWord() string {
	return map[string]string{"ipv4": "IPv4", "ipv6": "IPv6", "all": "IPv4 and IPv6"}[f.Family]
}

// rejects are the -with values of reject-syn.
var rejects = []string{"tcp-reset", "icmp-unreachable", "icmp-admin-prohibited"}

// Parse reads one fault from the command line.
func Parse(args []string) (Fault, error) {
	f := Fault{Kind: args[0], Family: "all", Port: 7890}
	fs := flag.NewFlagSet("netfault "+f.Kind, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	port := fs.Int("port", 7890, "")
	var positional int // how many positional arguments the fault takes
	switch f.Kind {
	case "drop-syn", "drop-sent":
		fs.StringVar(&f.Family, "family", "all", "")
	case "reject-syn":
		fs.StringVar(&f.Family, "family", "all", "")
		fs.StringVar(&f.With, "with", "", "")
	case "drop-larger":
		fs.StringVar(&f.Family, "family", "all", "")
		fs.IntVar(&f.Than, "than", 0, "")
	case "unroute":
		positional = 1
	case "clear", "hold":
	default:
		return f, fmt.Errorf("unknown fault %q (want drop-syn, reject-syn, drop-sent, drop-larger, unroute, clear or hold)", f.Kind)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return f, fmt.Errorf("%s: %w", f.Kind, err)
	}
	if fs.NArg() != positional {
		return f, fmt.Errorf("%s takes %d arguments after its flags, got %q", f.Kind, positional, strings.Join(fs.Args(), " "))
	}
	if *port < 1 || *port > 65535 {
		return f, fmt.Errorf("bad -port %d: must be 1-65535", *port)
	}
	f.Port = uint16(*port)
	switch f.Family {
	case "ipv4", "ipv6", "all":
	default:
		return f, fmt.Errorf("bad -family %q: want ipv4, ipv6 or all", f.Family)
	}
	switch f.Kind {
	case "reject-syn":
		if !slices.Contains(rejects, f.With) {
			return f, fmt.Errorf("bad -with %q: want %s", f.With, strings.Join(rejects, ", "))
		}
	case "drop-larger":
		// An IPv4 header with TCP's is 40 bytes; IPv6 promises 1280.
		if f.Than < 40 || f.Than > 65535 {
			return f, errors.New("bad -than " + strconv.Itoa(f.Than) + ": must be 40-65535 bytes")
		}
	case "unroute":
		a, err := netip.ParseAddr(fs.Arg(0))
		if err != nil {
			return f, fmt.Errorf("bad address %q: %w", fs.Arg(0), err)
		}
		f.Addr = a.Unmap()
	}
	return f, nil
}

// Apply puts the fault into the current network namespace.
func (f Fault) Apply() error {
	switch f.Kind {
	case "unroute":
		return unroute(f.Addr)
	case "clear":
		return clearRules()
	}
	return addRule(f)
}
