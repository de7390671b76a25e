package dnstest

import (
	"context"
	"net"
	"testing"
	"time"
)

func resolverAt(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// TestRawPTR: a well-formed raw answer reads like AddPTR's, and hostile
// ones reach the resolver (which then refuses them) without harming the
// server.
func TestRawPTR(t *testing.T) {
	s := Start(t)
	s.AddRawPTR("127.0.0.2", WireName("raw", "smile", "test"))
	s.AddRawPTR("127.0.0.3", WireName("esc\x1b[31m", "smile", "test"))
	s.AddRawPTR("127.0.0.4", []byte{0xc0, 0x0c}) // a pointer back to the question name
	s.AddPTR("127.0.0.5", "plain.smile.test")
	r := resolverAt(s.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	names, err := r.LookupAddr(ctx, "127.0.0.2")
	if err != nil || len(names) != 1 || names[0] != "raw.smile.test." {
		t.Errorf("raw well-formed PTR: %q %v", names, err)
	}
	if names, err := r.LookupAddr(ctx, "127.0.0.3"); err == nil {
		t.Errorf("a name with an escape sequence must be refused by Go's resolver, got %q", names)
	}
	if names, err := r.LookupAddr(ctx, "127.0.0.4"); err != nil || len(names) != 1 || names[0] != "4.0.0.127.in-addr.arpa." {
		t.Errorf("pointer to the question: %q %v", names, err)
	}
	if names, err := r.LookupAddr(ctx, "127.0.0.5"); err != nil || len(names) != 1 || names[0] != "plain.smile.test." {
		t.Errorf("AddPTR still answers: %q %v", names, err)
	}
	if s.Queries() < 4 {
		t.Errorf("queries = %d, want at least 4", s.Queries())
	}
}

func TestWireName(t *testing.T) {
	got := string(WireName("a", "bc"))
	if got != "\x01a\x02bc\x00" {
		t.Errorf("WireName = %q", got)
	}
	if got := WireName(); len(got) != 1 || got[0] != 0 {
		t.Errorf("WireName() = %q, want the root", got)
	}
}
