package client

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/smile-sockets/smile/internal/resolver"
)

// Greeter probes single addresses for another program (the server's mesh
// mode) with exactly smile-client's dialling, reading and classification,
// so that a cell of the mesh and a smile-client run name a failure with
// the same class and the same one-line message.
type Greeter struct {
	p *prober
}

// GreeterOptions bound one greeting; a zero field takes smile-client's
// default. Expect, when not nil, is what the greeting must equal.
type GreeterOptions struct {
	Timeout     time.Duration // connect; the caller's context may bound the whole probe tighter
	ReadTimeout time.Duration // reading the whole greeting
	MaxBytes    int           // more is class too-large
	Expect      *string       // nil: any non-empty greeting is ok
}

// NewGreeter returns a Greeter; it dials IP literals only, so it needs no
// resolver.
func NewGreeter(o GreeterOptions) *Greeter {
	cfg := &Config{Timeout: o.Timeout, ReadTimeout: o.ReadTimeout, MaxBytes: o.MaxBytes}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 5 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 65536
	}
	if o.Expect != nil {
		cfg.Expect, cfg.HasExpect = *o.Expect, true
	}
	return &Greeter{p: &prober{cfg: cfg, res: resolver.New("")}}
}

// Greeting is how one greeting went: Class is "" when it succeeded, else
// one of smile-client's classes, and Error then is smile-client's one-line
// message for it.
type Greeting struct {
	Family  string        // "ipv4" or "ipv6"
	Connect time.Duration // until the connection was made (or failed)
	Total   time.Duration // until the greeting was read (or the probe failed)
	Bytes   int           // bytes of greeting read
	Class   string
	Error   string
	// Connected: the connection was made, so a failure came after it
	// (reading the greeting, or the greeting itself).
	Connected bool
}

// OK reports a greeting read in full (and equal to Expect, if given).
func (g *Greeting) OK() bool { return g.Class == "" }

// Greet connects to addr over its own family (tcp4 for IPv4, tcp6 for
// IPv6: never the other family) and reads the greeting into buf, which is
// reused when the caller passes the same one again (nil allocates).
func (g *Greeter) Greet(ctx context.Context, addr netip.AddrPort, buf []byte) Greeting {
	network := "tcp6"
	if addr.Addr().Is4() || addr.Addr().Is4In6() {
		network = "tcp4"
		addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	}
	r := g.p.probe(ctx, addr.String(), network, buf)
	out := Greeting{Family: strings.ToLower(r.family), Connect: r.connect, Total: r.total, Bytes: len(r.data), Class: r.class,
		Connected: r.phase != "resolve" && r.phase != "connect"}
	if out.Family == "" {
		out.Family = map[string]string{"tcp4": "ipv4", "tcp6": "ipv6"}[network]
	}
	if !r.ok() {
		out.Error = r.message()
	}
	return out
}

// Classes are every failure class Greeting.Class can hold, in the order
// smile-client's documentation lists them, for tables and metrics that
// must know their label values in advance.
func Classes() []string { return append([]string(nil), classes...) }

// ResolveError is smile-client's one-line message for a name that did not
// resolve: "can't resolve NAME: dns: REASON".
func ResolveError(name string, err error) string {
	return fmt.Sprintf("can't resolve %s: dns: %s", name, dnsDetail(err))
}
