package smiletest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netns"
)

// Netns is a network namespace a test made for itself, removed when the
// test ends: links, routes, packet filters and sysctls set in it touch
// nothing of the host's.
type Netns struct {
	Name   string
	handle netns.NsHandle
}

var netnsSeq atomic.Int64

// NewNetns makes a namespace with its loopback up; the test is skipped
// where that needs privileges it does not have.
func NewNetns(t *testing.T) *Netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a network namespace of the test's own needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip(8) here")
	}
	name := fmt.Sprintf("smile-t%d-%d", os.Getpid(), netnsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("opening namespace %s: %v", name, err)
	}
	t.Cleanup(func() { _ = h.Close() })
	n := &Netns{Name: name, handle: h}
	n.Run(t, "ip link set lo up")
	return n
}

// Run runs each command line (split at spaces) inside the namespace and
// fails the test on the first that fails, with its output.
func (n *Netns) Run(t *testing.T, lines ...string) {
	t.Helper()
	for _, line := range lines {
		argv := append([]string{"netns", "exec", n.Name}, strings.Fields(line)...)
		if out, err := exec.Command("ip", argv...).CombinedOutput(); err != nil {
			t.Fatalf("in %s: %s: %v: %s", n.Name, line, err, out)
		}
	}
}

// Nft loads an nftables ruleset into the namespace.
func (n *Netns) Nft(t *testing.T, ruleset string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", n.Name, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft in %s: %v: %s", n.Name, err, out)
	}
}

// Do runs f on a thread inside the namespace: a socket f opens belongs to
// the namespace for good, and can be used from any goroutine after.
func (n *Netns) Do(t *testing.T, f func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("this thread's namespace: %v", err)
	}
	defer func() { _ = orig.Close() }()
	if err := netns.Set(n.handle); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("entering %s: %v", n.Name, err)
	}
	defer func() {
		// A thread that cannot return stays locked: the runtime ends it
		// with this goroutine rather than reuse it in the namespace.
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
	}()
	f()
}

// Link joins two namespaces with a veth pair, an in a and bn in b, each
// side with the given MTU, both up.
func Link(t *testing.T, a *Netns, an string, amtu int, b *Netns, bn string, bmtu int) {
	t.Helper()
	a.Run(t, fmt.Sprintf("ip link add %s mtu %d type veth peer name %s mtu %d netns %s", an, amtu, bn, bmtu, b.Name),
		"ip link set "+an+" up")
	b.Run(t, "ip link set "+bn+" up")
}

// NarrowPath builds client — router — server in namespaces of the test's
// own: the client's link 1,500 bytes (10.28.1.2 and fd28:1::2 behind the
// router's 10.28.1.1 and fd28:1::1), the server's 1,280 (10.28.2.2 and
// fd28:2::2), so the router must refuse a larger don't-fragment datagram
// with ICMP "fragmentation needed" or ICMPv6 "packet too big", which it
// sends without rate limit. With dropTooBig an nft rule in the router
// drops those messages before they leave: a path MTU black hole.
func NarrowPath(t *testing.T, dropTooBig bool) (cli, rtr, srv *Netns) {
	t.Helper()
	cli, rtr, srv = NewNetns(t), NewNetns(t), NewNetns(t)
	Link(t, cli, "c0", 1500, rtr, "r0", 1500)
	Link(t, rtr, "r1", 1280, srv, "s0", 1280)
	cli.Run(t, "ip addr add 10.28.1.2/24 dev c0", "ip -6 addr add fd28:1::2/64 dev c0 nodad",
		"ip route add default via 10.28.1.1", "ip -6 route add default via fd28:1::1")
	rtr.Run(t, "ip addr add 10.28.1.1/24 dev r0", "ip -6 addr add fd28:1::1/64 dev r0 nodad",
		"ip addr add 10.28.2.1/24 dev r1", "ip -6 addr add fd28:2::1/64 dev r1 nodad",
		"sysctl -qw net.ipv4.ip_forward=1", "sysctl -qw net.ipv6.conf.all.forwarding=1",
		"sysctl -qw net.ipv4.icmp_ratelimit=0", "sysctl -qw net.ipv6.icmp.ratelimit=0")
	srv.Run(t, "ip addr add 10.28.2.2/24 dev s0", "ip -6 addr add fd28:2::2/64 dev s0 nodad",
		"ip route add default via 10.28.2.1", "ip -6 route add default via fd28:2::1",
		"sysctl -qw net.ipv4.icmp_ratelimit=0", "sysctl -qw net.ipv6.icmp.ratelimit=0")
	if dropTooBig {
		rtr.Nft(t, `table inet blackhole {
	chain out {
		type filter hook output priority 0;
		icmp type destination-unreachable icmp code frag-needed drop
		icmpv6 type packet-too-big drop
	}
}
`)
	}
	return cli, rtr, srv
}
