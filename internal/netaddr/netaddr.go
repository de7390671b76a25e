// Package netaddr parses the addresses and ports that people type at both
// programs, so that a typo is a one-line usage error naming the bad part
// instead of a confusing failure deep inside a dial or a bind.
package netaddr

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultPort is the tutorial's port.
const DefaultPort = 7890

// ParsePort accepts a decimal TCP port from 1 to 65535. Port 0 is refused
// because "any free port" makes no sense for a server people must reach or a
// client that must reach it.
func ParsePort(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty port")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad port %q: not a number", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("bad port %q: must be 1-65535", s)
	}
	return n, nil
}

// Kind says what a host names, which decides the socket family to use.
type Kind int

const (
	// Wildcard is "" or "::": every interface, dual-stack where possible.
	Wildcard Kind = iota
	// AnyIPv4 is 0.0.0.0: every IPv4 interface and no IPv6.
	AnyIPv4
	// IPv4 is one IPv4 address.
	IPv4
	// IPv6 is one IPv6 address (possibly with a zone).
	IPv6
	// Name is a host name, resolved when used.
	Name
)

// Host is a parsed host part: its kind, the address for literals and the
// text as given (without brackets).
type Host struct {
	Kind Kind
	Addr netip.Addr // valid for IPv4, IPv6, AnyIPv4 and the "::" wildcard
	Text string
}

// HostPort is a host with a port.
type HostPort struct {
	Host
	Port int
}

// String renders the address the way Go's net package and people write it:
// IPv6 in brackets, the wildcard as ":PORT".
func (hp HostPort) String() string {
	return JoinHostPort(hp.Text, hp.Port)
}

// JoinHostPort is net.JoinHostPort with an int port.
func JoinHostPort(host string, port int) string {
	p := strconv.Itoa(port)
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + p
	}
	return host + ":" + p
}

// ParseHost classifies a host without brackets: an IP literal, the
// wildcards, or a syntactically valid host name. Something that looks
// numeric but is not an IPv4 address (1.2.3.4.5, 300.1.1.1) is rejected
// rather than sent to DNS.
func ParseHost(s string) (Host, error) {
	switch s {
	case "":
		return Host{Kind: Wildcard, Text: ""}, nil
	case "::":
		return Host{Kind: Wildcard, Addr: netip.IPv6Unspecified(), Text: "::"}, nil
	case "0.0.0.0":
		return Host{Kind: AnyIPv4, Addr: netip.IPv4Unspecified(), Text: s}, nil
	}
	if strings.Contains(s, ":") {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() {
			return Host{}, fmt.Errorf("bad IPv6 address %q", s)
		}
		if a.WithZone("") == netip.IPv6Unspecified() {
			// "0::0" is "::" spelled out: the wildcard, never one address.
			if a.Zone() != "" {
				return Host{}, fmt.Errorf("bad IPv6 address %q: a zone on the unspecified address", s)
			}
			return Host{Kind: Wildcard, Addr: netip.IPv6Unspecified(), Text: "::"}, nil
		}
		if a.Is4In6() {
			u := a.Unmap()
			if u.IsUnspecified() {
				return Host{Kind: AnyIPv4, Addr: u, Text: u.String()}, nil
			}
			return Host{Kind: IPv4, Addr: u, Text: u.String()}, nil
		}
		return Host{Kind: IPv6, Addr: a, Text: s}, nil
	}
	if looksNumeric(s) {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return Host{}, fmt.Errorf("bad IPv4 address %q", s)
		}
		return Host{Kind: IPv4, Addr: a, Text: s}, nil
	}
	if err := CheckName(s); err != nil {
		return Host{}, err
	}
	return Host{Kind: Name, Text: s}, nil
}

// looksNumeric reports whether s has only digits and dots, the shape of an
// IPv4 address (and of no real host name's last label).
func looksNumeric(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// CheckName accepts host names made of letters, digits, '-', '_' and dots,
// with labels of 1 to 63 bytes and 253 bytes in all (RFC 1035, with the
// underscore that real networks use).
func CheckName(s string) error {
	name := strings.TrimSuffix(s, ".")
	if name == "" || len(name) > 253 {
		return fmt.Errorf("bad host name %q", s)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("bad host name %q: empty or over-long label", s)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("bad host name %q: a label starts or ends with '-'", s)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return fmt.Errorf("bad host name %q: character %q not allowed", s, c)
			}
		}
	}
	return nil
}

// ParseListen parses a server listen address: HOST:PORT, [IPv6]:PORT or
// :PORT. The port is required.
func ParseListen(s string) (HostPort, error) {
	host, port, err := splitHostPort(s)
	if err != nil {
		return HostPort{}, fmt.Errorf("bad listen address %q: %w", s, err)
	}
	if port == "" {
		return HostPort{}, fmt.Errorf("bad listen address %q: missing port", s)
	}
	p, err := ParsePort(port)
	if err != nil {
		return HostPort{}, fmt.Errorf("bad listen address %q: %w", s, err)
	}
	h, err := ParseHost(host)
	if err != nil {
		return HostPort{}, fmt.Errorf("bad listen address %q: %w", s, err)
	}
	return HostPort{Host: h, Port: p}, nil
}

// splitHostPort splits "host:port", "[v6]:port", ":port". It returns
// port "" when there is none; unlike net.SplitHostPort it names the
// problem with an unbalanced bracket.
func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", errors.New("missing ']'")
		}
		host, rest := s[1:end], s[end+1:]
		if !strings.Contains(host, ":") {
			return "", "", fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
		switch {
		case rest == "":
			return host, "", nil
		case strings.HasPrefix(rest, ":"):
			return host, rest[1:], nil
		default:
			return "", "", fmt.Errorf("unexpected %q after ']'", rest)
		}
	}
	if strings.ContainsAny(s, "[]") {
		return "", "", errors.New("unbalanced brackets")
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, "", nil
	}
	if strings.Count(s, ":") > 1 {
		return "", "", errors.New("IPv6 address with a port needs brackets, as in [::1]:7890")
	}
	return s[:i], s[i+1:], nil
}

// ParseTarget parses the client's positional arguments, [host [port]],
// as the tutorial's client took them, and also host:port, [v6]:port and a
// bare IPv6 literal as one argument. Missing parts take the defaults.
func ParseTarget(args []string, defaultHost string, defaultPort int) (HostPort, error) {
	if len(args) > 2 {
		return HostPort{}, fmt.Errorf("unexpected argument %q", args[2])
	}
	hostArg, port := defaultHost, defaultPort
	hasPort := false
	if len(args) >= 1 {
		hostArg = args[0]
		if hostArg == "" {
			return HostPort{}, errors.New("empty host")
		}
	}
	var host string
	switch {
	case strings.HasPrefix(hostArg, "[") || strings.ContainsAny(hostArg, "]"):
		h, p, err := splitHostPort(hostArg)
		if err != nil {
			return HostPort{}, fmt.Errorf("bad address %q: %w", hostArg, err)
		}
		host = h
		if p != "" {
			n, err := ParsePort(p)
			if err != nil {
				return HostPort{}, fmt.Errorf("bad address %q: %w", hostArg, err)
			}
			port, hasPort = n, true
		}
	case strings.Count(hostArg, ":") > 1:
		host = hostArg // a bare IPv6 literal
	case strings.Count(hostArg, ":") == 1:
		h, p, _ := splitHostPort(hostArg)
		n, err := ParsePort(p)
		if err != nil {
			return HostPort{}, fmt.Errorf("bad address %q: %w", hostArg, err)
		}
		host, port, hasPort = h, n, true
	default:
		host = hostArg
	}
	if host == "" {
		return HostPort{}, fmt.Errorf("bad address %q: empty host", hostArg)
	}
	if len(args) == 2 {
		if hasPort {
			return HostPort{}, fmt.Errorf("port given twice: in %q and as %q", hostArg, args[1])
		}
		n, err := ParsePort(args[1])
		if err != nil {
			return HostPort{}, err
		}
		port = n
	}
	h, err := ParseHost(host)
	if err != nil {
		return HostPort{}, err
	}
	if h.Kind == Wildcard || h.Kind == AnyIPv4 {
		return HostPort{}, fmt.Errorf("bad address %q: a wildcard address cannot be dialled", host)
	}
	return HostPort{Host: h, Port: port}, nil
}
