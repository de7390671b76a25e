package server

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// TestDatagramAnswersFromTheSecondAddress: a host with two addresses of
// each family on one interface (its loopback, in a namespace of the
// test's own: this kernel may have no dummy interfaces), a client on the first sending to the second: the answer comes
// from the second, on a dual-stack wildcard socket and on per-family
// wildcard ones, over IPv4 and IPv6, while the naive wildcard responder
// answers from the first.
func TestDatagramAnswersFromTheSecondAddress(t *testing.T) {
	ns := smiletest.NewNetns(t)
	ns.Run(t, "ip addr add 10.28.5.1/24 dev lo", "ip addr add 10.28.5.2/24 dev lo",
		"ip -6 addr add fd28:5::1/64 dev lo nodad", "ip -6 addr add fd28:5::2/64 dev lo nodad")
	first4, second4 := netip.MustParseAddr("10.28.5.1"), netip.MustParseAddr("10.28.5.2")
	first6, second6 := netip.MustParseAddr("fd28:5::1"), netip.MustParseAddr("fd28:5::2")
	for _, c := range []struct {
		network, listen string
		from, to        netip.Addr
	}{
		{"udp", "[::]:0", first4, second4},
		{"udp", "[::]:0", first6, second6},
		{"udp4", "0.0.0.0:0", first4, second4},
		{"udp6", "[::]:0", first6, second6},
	} {
		t.Run(c.network+" "+c.to.String(), func(t *testing.T) {
			ns.Do(t, func() {
				port, _ := serveDatagrams(t, c.network, c.listen)
				dst := netip.AddrPortFrom(c.to, port)
				assert.Equal(t, dst, answerSource(t, c.from, dst))
			})
		})
	}
	t.Run("naive wildcard responder", func(t *testing.T) {
		ns.Do(t, func() {
			port := naiveResponder(t)
			assert.Equal(t, netip.AddrPortFrom(first4, port), answerSource(t, first4, netip.AddrPortFrom(second4, port)),
				"the naive server answers the second address's datagram from the first")
		})
	})
}

// TestDatagramBatchCountsARefusedAnswer: the answers of one batch
// (udp_pktinfo_linux.go) go out together, and one the socket refuses
// (an nftables output rule of the namespace's own drops what goes to one
// client, so sendmmsg fails on it with EPERM) is counted failed while
// the others still leave: 24 requests queued before serve starts, from
// two clients in turn, give 12 answers to one and 12 failures.
func TestDatagramBatchCountsARefusedAnswer(t *testing.T) {
	ns := smiletest.NewNetns(t)
	var pc, answered, refused *net.UDPConn
	ns.Do(t, func() {
		lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
		var err error
		pc, err = net.ListenUDP("udp4", lo)
		require.NoError(t, err)
		answered, err = net.DialUDP("udp4", nil, pc.LocalAddr().(*net.UDPAddr))
		require.NoError(t, err)
		refused, err = net.DialUDP("udp4", nil, pc.LocalAddr().(*net.UDPAddr))
		require.NoError(t, err)
	})
	t.Cleanup(func() { _ = answered.Close(); _ = refused.Close() })
	ns.Nft(t, fmt.Sprintf("table inet answers {\n\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n\t\tudp dport %d drop\n\t}\n}\n",
		refused.LocalAddr().(*net.UDPAddr).Port))
	const each = 12
	for range each {
		for _, c := range []*net.UDPConn{answered, refused} {
			_, err := c.Write(make([]byte, 64))
			require.NoError(t, err)
		}
	}
	d := &datagrams{greeting: []byte(defaultGreeting), idle: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // serve answers what is queued, then returns
	require.NoError(t, d.serve(ctx, pc))
	assert.Equal(t, DatagramStats{Greetings: 2 * each, Failed: each}, d.stats())
	require.NoError(t, answered.SetReadDeadline(time.Now().Add(time.Second)))
	b := make([]byte, 64)
	for i := range each {
		n, err := answered.Read(b)
		require.NoError(t, err, "answer %d", i)
		assert.Equal(t, defaultGreeting, string(b[:n]))
	}
}

// queuedBehindASlowLink is a server socket in a namespace of its own
// whose answers leave through a tbf queue of rate (and the smallest send
// buffer), with queued requests from a client in another namespace
// already in it, sent to 10.29.sub.2: what a stop finds when its link
// drains slowly or not at all.
func queuedBehindASlowLink(t *testing.T, sub int, rate string, queued int) *net.UDPConn {
	t.Helper()
	cli, srv := smiletest.NewNetns(t), smiletest.NewNetns(t)
	smiletest.Link(t, cli, fmt.Sprintf("q%dc", sub), 1500, srv, fmt.Sprintf("q%ds", sub), 1500)
	cli.Run(t, fmt.Sprintf("ip addr add 10.29.%d.1/24 dev q%dc", sub, sub))
	srv.Run(t, fmt.Sprintf("ip addr add 10.29.%d.2/24 dev q%ds", sub, sub),
		fmt.Sprintf("tc qdisc add dev q%ds root tbf rate %s burst 1600 limit 1000000", sub, rate))
	var pc, c *net.UDPConn
	srv.Do(t, func() {
		var err error
		pc, err = net.ListenUDP("udp4", &net.UDPAddr{})
		require.NoError(t, err)
		require.NoError(t, pc.SetWriteBuffer(1))
	})
	cli.Do(t, func() {
		var err error
		c, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(10, 29, byte(sub), 2), Port: pc.LocalAddr().(*net.UDPAddr).Port})
		require.NoError(t, err)
	})
	t.Cleanup(func() { _ = c.Close() })
	for range queued {
		_, err := c.Write(make([]byte, 64))
		require.NoError(t, err)
	}
	time.Sleep(50 * time.Millisecond) // all of them in the server's socket
	return pc
}

// stopAndDrain serves pc as a server that was already told to stop:
// what the socket holds is answered within idle. It returns how long
// that took and the counts.
func stopAndDrain(t *testing.T, pc *net.UDPConn, idle time.Duration) (time.Duration, DatagramStats) {
	t.Helper()
	d := &datagrams{greeting: []byte(defaultGreeting), idle: idle}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	require.NoError(t, d.serve(ctx, pc))
	return time.Since(start), d.stats()
}

// TestDatagramDrainWhileTheSendBufferIsFull: 200 requests queued before
// a stop, on a server whose answers leave slowly (a tbf queue at 200
// kbit/s on its link and a send buffer of the smallest size), are all
// answered: waiting for room to send the last batch's answers must not
// eat the 5 ms of silence that ends the drain (docs/datagrams.md, "Health
// and the drain"), which left 168 of them unanswered and uncounted.
func TestDatagramDrainWhileTheSendBufferIsFull(t *testing.T) {
	const queued = 200
	pc := queuedBehindASlowLink(t, 0, "200kbit", queued)
	_, st := stopAndDrain(t, pc, 10*time.Second)
	assert.Equal(t, DatagramStats{Greetings: queued}, st)
}

// TestDatagramDrainBoundedOnAStalledLink: a stop whose answers cannot
// leave (a tbf queue at 1 kbit/s and the smallest send buffer) still
// ends within its drain window, the answers that did not leave counted
// failed: a stalled link does not hold the server's stop.
func TestDatagramDrainBoundedOnAStalledLink(t *testing.T) {
	const queued, idle = 200, 300 * time.Millisecond
	pc := queuedBehindASlowLink(t, 1, "1kbit", queued)
	took, st := stopAndDrain(t, pc, idle)
	assert.Less(t, took, idle+time.Second, "the stop outlived its drain window (5.0 s without its write deadlines)")
	assert.Positive(t, st.Failed, "answers that could not leave are counted failed")
	assert.LessOrEqual(t, st.Greetings, uint64(queued))
	t.Logf("FIGURES stop %v, %d greetings counted, %d failed", took.Round(time.Millisecond), st.Greetings, st.Failed)
}

// TestDatagramDrainEndAnswersItsLastBatch: a drain whose window ends
// with answers still waiting in a batch sends them before the socket
// closes, so that every greeting counted and not failed reached its
// client.
func TestDatagramDrainEndAnswersItsLastBatch(t *testing.T) {
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	c, err := net.DialUDP("udp4", nil, pc.LocalAddr().(*net.UDPAddr))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	for range 20 {
		_, err := c.Write(make([]byte, 64))
		require.NoError(t, err)
	}
	require.NoError(t, pc.SetReadDeadline(time.Now().Add(-time.Second))) // the drain starts at the first read
	d := &datagrams{greeting: []byte(defaultGreeting), idle: time.Nanosecond}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, d.serve(ctx, pc))
	st := d.stats()
	require.Positive(t, st.Greetings)
	got := 0
	require.NoError(t, c.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	for b := make([]byte, 64); ; got++ {
		if _, err := c.Read(b); err != nil {
			break
		}
	}
	assert.Equal(t, st.Greetings-st.Failed, uint64(got))
}

// TestDatagramLinkLocal: a client on a link-local address of another
// namespace's veth sends to the server's link-local address: the answer
// comes back from that address over that link (the peer's and the
// destination's interface index go back as the answer's scope and
// source interface), and the log line names the peer's link by the
// interface's name, as the TCP line does, where the datagram path
// carries its index.
func TestDatagramLinkLocal(t *testing.T) {
	cli, srv := smiletest.NewNetns(t), smiletest.NewNetns(t)
	smiletest.Link(t, cli, "llc", 1500, srv, "lls", 1500)
	cli.Run(t, "ip -6 addr add fe80::28:1/64 dev llc nodad")
	srv.Run(t, "ip -6 addr add fe80::28:2/64 dev lls nodad")
	var port uint16
	var d *datagrams
	peers := make(chan netip.AddrPort, 1)
	srv.Do(t, func() {
		port, d = serveDatagrams(t, "udp6", "[::]:0", func(d *datagrams) {
			d.log = func(_ time.Time, peer netip.AddrPort) { peers <- peer }
		})
	})
	cli.Do(t, func() {
		dst := netip.AddrPortFrom(netip.MustParseAddr("fe80::28:2").WithZone("llc"), port)
		got := answerSource(t, netip.MustParseAddr("fe80::28:1").WithZone("llc"), dst)
		assert.Equal(t, dst.Port(), got.Port())
		assert.Equal(t, dst.Addr().WithZone(""), got.Addr().WithZone(""))
	})
	select {
	case peer := <-peers:
		srv.Do(t, func() { // the index is the namespace's
			ifi, err := net.InterfaceByName("lls")
			require.NoError(t, err)
			assert.Equal(t, "fe80::28:1%"+strconv.Itoa(ifi.Index), peer.Addr().String(), "carried by index")
			assert.Equal(t, "fe80::28:1%lls", zoneNamed(peer.Addr()).String(), "logged by name")
		})
	case <-time.After(2 * time.Second):
		t.Fatal("no log line for the greeting")
	}
	assert.Equal(t, uint64(1), d.stats().Greetings)
}
