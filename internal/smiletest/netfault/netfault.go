//go:build linux

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
  route [-advmss N] PREFIX GW [PREFIX GW ...]
                                     route each PREFIX through the gateway GW (replacing a
                                     route there), advertising the TCP MSS N if given
  mtu -to N ADDR [ADDR ...]          set the MTU of the links that hold the addresses
  route-mtu -to N PREFIX [PREFIX ...]
                                     set the MTU of the route to each PREFIX (the one
                                     already there, locked), the links' own left as they
                                     are: a router forwarding that way answers bigger
                                     packets with "too big", while its neighbours on that
                                     link still send it full-size frames
  drop-forward [-family F]           drop every packet forwarded through the namespace
  drop-too-big [-family F]           drop ICMP "fragmentation needed" and ICMPv6 "packet
                                     too big", forwarded and sent by the namespace itself
  masquerade [-family F]             rewrite the source of forwarded TCP and UDP to the
                                     address of the link it leaves by (NAT)
  lose -percent P [-family F] [-port N]
                                     drop P % of the forwarded UDP datagrams to the port,
                                     each at random (nft numgen random)
  addr PREFIX [PREFIX ...]           add each address, with its prefix length, to the link
                                     that holds an address of that subnet (a second address)
  answer-naive [-port N]             answer datagrams to the port on a wildcard socket as a
                                     naive server does (package naiveudp), until netfault
                                     ends: put hold after it
  lose-state [-family F] [-port N]   forward the handshake, then forget the flow: what the
                                     port sends after its SYN-ACK is tracked apart (a
                                     conntrack zone of its own), so it is new or invalid
                                     to the firewall, which drops it
  clear                              remove every packet-filter fault netfault put here
  hold [-exec SOCKET [-program P] [-user UID:GID]]
                                     keep the namespace alive until SIGTERM or SIGINT; with
                                     -exec, run P (default /smile-client) in it as UID:GID
                                     (default 65532:65532) for each request on the Unix
                                     socket SOCKET (package hostexec)

F is ipv4, ipv6 or all (default all); the port defaults to 7890. Several
faults go in one run separated by "+", applied in order: hold must be last.
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
	faults, err := ParseAll(args)
	if err != nil {
		fmt.Fprintf(stderr, "netfault: %v\n", err)
		return exitUsage
	}
	for _, f := range faults {
		if f.Kind == "hold" {
			return hold(ctx, f, stdout, stderr)
		}
		if err := f.Apply(); err != nil {
			fmt.Fprintf(stderr, "netfault: %s: %v\n", f, err)
			return exitFailure
		}
		fmt.Fprintf(stdout, "netfault: %s\n", f)
	}
	return exitOK
}

// ParseAll reads the faults of one run, separated by "+": a router's or a
// host's whole setup, then hold, in one container.
func ParseAll(args []string) ([]Fault, error) {
	var faults []Fault
	for {
		i := slices.Index(args, "+")
		if i < 0 {
			i = len(args)
		}
		if i == 0 {
			return nil, errors.New(`a fault is missing around "+"`)
		}
		if len(faults) > 0 && faults[len(faults)-1].Kind == "hold" {
			return nil, errors.New("hold must be the last fault")
		}
		f, err := Parse(args[:i])
		if err != nil {
			return nil, err
		}
		faults = append(faults, f)
		if i == len(args) {
			return faults, nil
		}
		args = args[i+1:]
	}
}

// Fault is one parsed fault.
type Fault struct {
	Kind     string         // drop-syn, reject-syn, drop-sent, drop-larger, unroute, route, mtu, route-mtu, drop-forward, drop-too-big, masquerade, lose, lose-state, addr, answer-naive, clear, hold
	Family   string         // ipv4, ipv6 or all
	Port     uint16         // the server's port
	With     string         // reject-syn: tcp-reset, icmp-unreachable, icmp-admin-prohibited
	Hook     string         // drop-syn, reject-syn: input (the host's own firewall) or forward (a router's)
	Than     int            // drop-larger: the largest packet that passes, in bytes
	Addr     netip.Addr     // unroute: the destination to make unreachable
	Routes   []Route        // route: the prefixes and their gateways
	AdvMSS   int            // route: the MSS to advertise, 0 for the kernel's
	MTU      int            // mtu, route-mtu: the links' or the routes' new MTU
	Links    []netip.Addr   // mtu: addresses of the links to change
	Dsts     []netip.Prefix // route-mtu: the destinations of the routes to change
	Percent  int            // lose: the share of datagrams dropped
	Addrs    []netip.Prefix // addr: the addresses to add
	Exec     string         // hold: the Unix socket to take run requests on, or ""
	Program  string         // hold -exec: the program to run
	UID, GID uint32         // hold -exec: who runs it
}

// Route is one route the route fault adds.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
}

// String says what the fault does, for the one line netfault prints.
func (f Fault) String() string {
	switch f.Kind {
	case "drop-syn":
		return fmt.Sprintf("dropping %s%s SYNs to port %d", f.forwarded(), f.familyWord(), f.Port)
	case "reject-syn":
		return fmt.Sprintf("rejecting %s%s SYNs to port %d with %s", f.forwarded(), f.familyWord(), f.Port, f.With)
	case "drop-sent":
		return fmt.Sprintf("dropping what port %d sends over %s after its SYN-ACK", f.Port, f.familyWord())
	case "drop-larger":
		return fmt.Sprintf("dropping outgoing %s packets over %d bytes", f.familyWord(), f.Than)
	case "unroute":
		return "removing the routes to " + f.Addr.String()
	case "clear":
		return "removing every packet-filter fault"
	case "route":
		parts := make([]string, len(f.Routes))
		for i, r := range f.Routes {
			parts[i] = r.Dst.String() + " via " + r.Via.String()
		}
		s := "routing " + strings.Join(parts, ", ")
		if f.AdvMSS > 0 {
			s += fmt.Sprintf(", advertising MSS %d", f.AdvMSS)
		}
		return s
	case "mtu":
		return fmt.Sprintf("setting the MTU of the links of %s to %d", joinAddrs(f.Links), f.MTU)
	case "route-mtu":
		parts := make([]string, len(f.Dsts))
		for i, d := range f.Dsts {
			parts[i] = d.String()
		}
		return fmt.Sprintf("setting the MTU of the routes to %s to %d, the links' own left as they are", strings.Join(parts, ", "), f.MTU)
	case "drop-forward":
		return fmt.Sprintf("dropping every forwarded %s packet", f.familyWord())
	case "drop-too-big":
		return fmt.Sprintf("dropping %s \"too big\" errors, forwarded and sent", f.familyWord())
	case "masquerade":
		return fmt.Sprintf("masquerading forwarded %s TCP and UDP", f.familyWord())
	case "lose":
		return fmt.Sprintf("dropping %d %% of forwarded %s datagrams to port %d at random", f.Percent, f.familyWord(), f.Port)
	case "addr":
		parts := make([]string, len(f.Addrs))
		for i, a := range f.Addrs {
			parts[i] = a.String()
		}
		return "adding the addresses " + strings.Join(parts, ", ")
	case "answer-naive":
		return fmt.Sprintf("answering datagrams to port %d from a wildcard socket, as a naive server does", f.Port)
	case "lose-state":
		return fmt.Sprintf("forgetting forwarded %s flows of port %d after their SYN-ACK", f.familyWord(), f.Port)
	}
	return f.Kind
}

// forwarded is "forwarded " for a fault at the forward hook.
func (f Fault) forwarded() string {
	if f.Hook == "forward" {
		return "forwarded "
	}
	return ""
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
	case "drop-sent", "drop-forward", "drop-too-big", "masquerade", "lose-state":
		fs.StringVar(&f.Family, "family", "all", "")
	case "lose":
		fs.StringVar(&f.Family, "family", "all", "")
		fs.IntVar(&f.Percent, "percent", -1, "")
	case "addr":
		positional = -1
	case "answer-naive":
	case "drop-syn":
		fs.StringVar(&f.Family, "family", "all", "")
		fs.StringVar(&f.Hook, "hook", "", "")
	case "reject-syn":
		fs.StringVar(&f.Family, "family", "all", "")
		fs.StringVar(&f.With, "with", "", "")
		fs.StringVar(&f.Hook, "hook", "", "")
	case "drop-larger":
		fs.StringVar(&f.Family, "family", "all", "")
		fs.IntVar(&f.Than, "than", 0, "")
	case "unroute":
		positional = 1
	case "route":
		fs.IntVar(&f.AdvMSS, "advmss", 0, "")
		positional = -2
	case "mtu", "route-mtu":
		fs.IntVar(&f.MTU, "to", 0, "")
		positional = -1
	case "hold":
		fs.StringVar(&f.Exec, "exec", "", "")
		fs.StringVar(&f.Program, "program", "/smile-client", "")
		fs.Func("user", "", func(v string) error {
			var err error
			f.UID, f.GID, err = parseUser(v)
			return err
		})
		f.UID, f.GID = 65532, 65532
	case "clear":
	default:
		return f, fmt.Errorf("unknown fault %q (want drop-syn, reject-syn, drop-sent, drop-larger, unroute, route, mtu, route-mtu, "+
			"drop-forward, drop-too-big, masquerade, lose, lose-state, addr, answer-naive, clear or hold)", f.Kind)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return f, fmt.Errorf("%s: %w", f.Kind, err)
	}
	switch {
	case positional == -1 && fs.NArg() == 0 && f.Kind == "route-mtu":
		return f, fmt.Errorf("%s takes one or more prefixes after its flags", f.Kind)
	case positional == -1 && fs.NArg() == 0:
		return f, fmt.Errorf("%s takes one or more addresses after its flags", f.Kind)
	case positional == -2 && (fs.NArg() == 0 || fs.NArg()%2 != 0):
		return f, fmt.Errorf("%s takes pairs of PREFIX GW after its flags, got %q", f.Kind, strings.Join(fs.Args(), " "))
	case positional >= 0 && fs.NArg() != positional:
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
	if f.Hook != "" && f.Hook != "input" && f.Hook != "forward" {
		return f, fmt.Errorf("bad -hook %q: want input or forward", f.Hook)
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
	case "route":
		if f.AdvMSS < 0 || f.AdvMSS > 65495 {
			return f, fmt.Errorf("bad -advmss %d: must be 0-65495", f.AdvMSS)
		}
		for i := 0; i < fs.NArg(); i += 2 {
			dst, err := netip.ParsePrefix(fs.Arg(i))
			if err != nil {
				return f, fmt.Errorf("bad prefix %q: %w", fs.Arg(i), err)
			}
			via, err := netip.ParseAddr(fs.Arg(i + 1))
			if err != nil {
				return f, fmt.Errorf("bad gateway %q: %w", fs.Arg(i+1), err)
			}
			if dst.Addr().Is4() != via.Is4() {
				return f, fmt.Errorf("route %s via %s: the gateway is of the other family", dst, via)
			}
			f.Routes = append(f.Routes, Route{Dst: dst.Masked(), Via: via})
		}
	case "lose":
		if f.Percent < 0 || f.Percent > 100 {
			return f, fmt.Errorf("bad -percent %d: must be 0-100", f.Percent)
		}
	case "addr":
		for _, s := range fs.Args() {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return f, fmt.Errorf("bad address %q: want ADDR/BITS: %w", s, err)
			}
			f.Addrs = append(f.Addrs, p)
		}
	case "mtu", "route-mtu":
		// IPv6 needs 1280 on every link; 68 is IPv4's least.
		if f.MTU < 1280 || f.MTU > 65535 {
			return f, fmt.Errorf("bad -to %d: must be 1280-65535", f.MTU)
		}
		for _, s := range fs.Args() {
			if f.Kind == "route-mtu" {
				p, err := netip.ParsePrefix(s)
				if err != nil {
					return f, fmt.Errorf("bad prefix %q: %w", s, err)
				}
				f.Dsts = append(f.Dsts, p.Masked())
				continue
			}
			a, err := netip.ParseAddr(s)
			if err != nil {
				return f, fmt.Errorf("bad address %q: %w", s, err)
			}
			f.Links = append(f.Links, a.Unmap())
		}
	}
	return f, nil
}

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// Apply puts the fault into the current network namespace.
func (f Fault) Apply() error {
	switch f.Kind {
	case "unroute":
		return unroute(f.Addr)
	case "route":
		return addRoutes(f.Routes, f.AdvMSS)
	case "mtu":
		return setMTU(f.Links, f.MTU)
	case "route-mtu":
		return setRouteMTU(f.Dsts, f.MTU)
	case "addr":
		return addAddrs(f.Addrs)
	case "answer-naive":
		return answerNaive(f.Port)
	case "clear":
		return clearRules()
	}
	return addRule(f)
}
