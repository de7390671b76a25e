package server

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/dgram"
	"github.com/smile-sockets/smile/internal/smiletest"
	"github.com/smile-sockets/smile/internal/smiletest/matrix"
	"github.com/smile-sockets/smile/internal/smiletest/naiveudp"
)

// serveDatagrams answers on a UDP socket the test opens on addr (network
// udp, udp4 or udp6) until the test ends, and returns the socket's port
// and the answerer, whose counts the test reads.
func serveDatagrams(t *testing.T, network, addr string, set ...func(*datagrams)) (uint16, *datagrams) {
	t.Helper()
	pc, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Skipf("no %s %s here: %v", network, addr, err)
	}
	d := &datagrams{greeting: []byte(defaultGreeting), idle: time.Second}
	for _, f := range set { // before it serves: the serving goroutine reads them
		f(d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.serve(ctx, pc) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	return pc.LocalAddr().(*net.UDPAddr).AddrPort().Port(), d
}

// naiveResponder is the UDP server most people write (package naiveudp):
// bound to the wildcard, it answers with WriteTo and lets the kernel pick
// the source.
func naiveResponder(t *testing.T) uint16 {
	t.Helper()
	pc, err := naiveudp.Listen("udp4", 0, []byte(defaultGreeting))
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	return pc.LocalAddr().(*net.UDPAddr).AddrPort().Port()
}

// answerSource sends a greeting request from an unconnected socket bound
// to from, to dst, and returns the source address of the answer: an
// application's connected socket accepts the answer only when it is dst.
func answerSource(t *testing.T, from netip.Addr, dst netip.AddrPort) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 0)))
	require.NoError(t, err)
	defer pc.Close()
	_, err = pc.WriteToUDPAddrPort(make([]byte, 64), dst)
	require.NoError(t, err)
	require.NoError(t, pc.SetReadDeadline(time.Now().Add(2*time.Second)))
	b := make([]byte, 128)
	n, src, err := pc.ReadFromUDPAddrPort(b)
	require.NoError(t, err, "no answer from %s", dst)
	assert.Equal(t, defaultGreeting, string(b[:n]))
	return netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
}

// TestDatagramAnswersFromTheAddressSentTo: on loopback, where 127.0.0.1
// and 127.0.0.2 are both this host's, a datagram from 127.0.0.1 to
// 127.0.0.2 is answered from 127.0.0.2, on an IPv4 wildcard socket and on
// a dual-stack one (the destination arrives as ::ffff:127.0.0.2); the
// wildcard UDP server of the test's own answers from 127.0.0.1, which a
// connected client drops: the check can fail.
func TestDatagramAnswersFromTheAddressSentTo(t *testing.T) {
	lo, second := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	for _, c := range []struct {
		network, listen string
		dsts            []netip.Addr
	}{
		{"udp4", "0.0.0.0:0", []netip.Addr{lo, second}},
		{"udp", "[::]:0", []netip.Addr{lo, second}},
		{"udp4", "127.0.0.2:0", []netip.Addr{second}},
	} {
		t.Run(c.listen, func(t *testing.T) {
			port, _ := serveDatagrams(t, c.network, c.listen)
			for _, dst := range c.dsts {
				assert.Equal(t, netip.AddrPortFrom(dst, port), answerSource(t, lo, netip.AddrPortFrom(dst, port)))
			}
		})
	}
	t.Run("naive wildcard responder", func(t *testing.T) {
		port := naiveResponder(t)
		assert.Equal(t, netip.AddrPortFrom(lo, port), answerSource(t, lo, netip.AddrPortFrom(second, port)),
			"the naive server answers 127.0.0.2's datagram from 127.0.0.1")
		// and a client connected to 127.0.0.2 never sees it:
		conn, err := dgram.Dial(context.Background(), netip.AddrPortFrom(second, port))
		require.NoError(t, err)
		defer conn.Close()
		_, _, _, _, err = conn.Greet(64, 1024, time.Now().Add(300*time.Millisecond))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	})
}

// datagramCase is one row of docs/datagrams.md's "What the server
// answers" table.
type datagramCase struct {
	name    string
	in      func() []byte
	answer  int // bytes; -1 for none
	counted string
}

func probeOf(size, asked int) []byte {
	return dgram.Header{Size: uint16(asked), Seq: 9}.Encode(nil, size)
}

var datagramCases = []datagramCase{
	{"empty", func() []byte { return nil }, -1, "short"},
	{"greeting request shorter than the greeting", func() []byte { return []byte("smile?" + string(make([]byte, 14))) }, -1, "short"},
	{"greeting request", func() []byte { return append([]byte(dgram.Request), make([]byte, 512-len(dgram.Request))...) }, 21, "ordinary"},
	{"probe asking for its own size", func() []byte { return probeOf(64, 64) }, 64, "probe"},
	{"probe asking for the header only", func() []byte { return probeOf(1400, 20) }, 20, "probe"},
	{"probe asking for more than it sent", func() []byte { return probeOf(64, 1400) }, 64, "probe, clamped"},
	{"magic only", func() []byte { return dgram.Magic[:] }, -1, "malformed"},
	{"probe cut short by a byte", func() []byte { return probeOf(20, 20)[:19] }, -1, "malformed"},
	{"probe of version 2", func() []byte { b := probeOf(20, 20); b[4] = 2; return b }, -1, "malformed"},
}

// TestDatagramAnswers sends each row of docs/datagrams.md's table to a
// real socket answered as the server answers, and holds the answer and
// the counts to the table, which must list exactly these rows.
func TestDatagramAnswers(t *testing.T) {
	page, err := os.ReadFile("../docs/datagrams.md")
	require.NoError(t, err)
	rows, err := matrix.DocTable(string(page), "| datagram |")
	require.NoError(t, err)
	require.Len(t, rows, len(datagramCases))
	port, d := serveDatagrams(t, "udp4", "127.0.0.1:0")
	dst := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	for i, c := range datagramCases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in()
			answer := "none"
			if c.answer >= 0 {
				answer = strconv.Itoa(c.answer)
			}
			assert.Equal(t, []string{c.name, strconv.Itoa(len(in)), answer, c.counted}, rows[i], "docs row %d", i)
			before := d.stats()
			got := exchange(t, dst, in, c.answer >= 0)
			assert.Equal(t, c.answer, got)
			after := d.stats()
			counted := map[string]uint64{
				"ordinary": after.Greetings - before.Greetings, "short": after.Short - before.Short,
				"probe": after.Probes - before.Probes, "clamped": after.Clamped - before.Clamped,
				"malformed": after.Malformed - before.Malformed,
			}
			want := map[string]uint64{"ordinary": 0, "short": 0, "probe": 0, "clamped": 0, "malformed": 0}
			switch c.counted {
			case "ordinary":
				if c.answer >= 0 {
					want["ordinary"] = 1
				}
			case "probe, clamped":
				want["probe"], want["clamped"] = 1, 1
			default:
				want[c.counted] = 1
			}
			assert.Equal(t, want, counted)
		})
	}
}

// exchange sends in to dst and returns the answer's size, -1 when none
// came within a wait as long as an answer would need (shorter when none
// is expected: a stray answer still shows in the counts).
func exchange(t *testing.T, dst netip.AddrPort, in []byte, expect bool) int {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write(in)
	require.NoError(t, err)
	wait := 100 * time.Millisecond
	if expect {
		wait = 2 * time.Second
	}
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(wait)))
	b := make([]byte, maxDatagram+1)
	n, err := conn.Read(b)
	if err != nil {
		return -1
	}
	return n
}

// TestDatagramEverySize sends a greeting request (zeros) and a probe
// asking for the most (65,535 bytes) at every size from 0 to 65,507 and
// checks that no answer is larger than its datagram and that each is
// counted: short below the greeting's 21 bytes, malformed below the
// header's 20, a clamped probe from there on.
func TestDatagramEverySize(t *testing.T) {
	if testing.Short() {
		t.Skip("131,016 datagrams")
	}
	port, d := serveDatagrams(t, "udp4", "127.0.0.1:0")
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)})
	require.NoError(t, err)
	defer conn.Close()
	out, in := make([]byte, dgram.MaxPayload), make([]byte, maxDatagram+1)
	answered := 0
	for size := 0; size <= dgram.MaxPayload; size++ {
		for _, probe := range []bool{false, true} {
			b := out[:size]
			clear(b)
			if probe && size >= len(dgram.Magic) {
				copy(b, dgram.Magic[:])
				if size >= dgram.HeaderLen {
					b = dgram.Header{Size: 65535, Seq: uint32(size)}.Encode(out, size)
				}
			}
			_, err := conn.Write(b)
			require.NoError(t, err, "size %d", size)
			answer := size >= len(defaultGreeting) || probe && size >= dgram.HeaderLen
			if !answer {
				continue
			}
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(2*time.Second)))
			n, err := conn.Read(in)
			require.NoError(t, err, "no answer to %d bytes (probe %v)", size, probe)
			require.LessOrEqual(t, n, size, "an answer larger than its datagram")
			if probe {
				require.Equal(t, size, n, "a probe asking for more gets what it sent")
				require.Equal(t, b[:dgram.HeaderLen], in[:dgram.HeaderLen])
			} else {
				require.Equal(t, defaultGreeting, string(in[:n]))
			}
			answered++
		}
	}
	st := d.stats()
	assert.Equal(t, DatagramStats{Greetings: dgram.MaxPayload + 1 - 21, Probes: dgram.MaxPayload + 1 - 20,
		Clamped: dgram.MaxPayload + 1 - 20, Short: 21 + 4, Malformed: 16}, st)
	assert.Equal(t, int(st.Greetings+st.Probes), answered)
}

// TestDatagramFlood: a burst of garbage far larger than the socket's
// buffer is read and counted (what the kernel dropped is not), and the
// socket answers a greeting request right after: a client that sends
// again after a second, as smile-client does, is answered.
func TestDatagramFlood(t *testing.T) {
	port, d := serveDatagrams(t, "udp4", "127.0.0.1:0")
	dst := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(dst))
	require.NoError(t, err)
	defer conn.Close()
	garbage := append(dgram.Magic[:], 7, 7, 7) // malformed: cut short
	for range 50000 {
		_, _ = conn.Write(garbage)
	}
	c, err := dgram.Dial(context.Background(), dst)
	require.NoError(t, err)
	defer c.Close()
	got, _, _, _, err := c.Greet(64, 1024, time.Now().Add(5*time.Second))
	require.NoError(t, err)
	assert.Equal(t, defaultGreeting, string(got))
	assert.Positive(t, d.stats().Malformed)
	assert.LessOrEqual(t, d.stats().Malformed, uint64(50000))
}

// TestServerAnswersDatagrams runs the program: its dual-stack wildcard
// listener answers datagrams to each loopback address from that address,
// logs the greeting request like a connection and counts it; with
// -udp=false nothing answers (ICMP port unreachable: refused).
func TestServerAnswersDatagrams(t *testing.T) {
	smiletest.RequireIPv6(t)
	port := uint16(smiletest.FreePort(t))
	s := startServer(t, "-resolve=false", "-listen", fmt.Sprintf(":%d", port))
	for _, c := range []struct{ from, to string }{{"127.0.0.1", "127.0.0.2"}, {"127.0.0.1", "127.0.0.1"}, {"::1", "::1"}} {
		dst := netip.AddrPortFrom(netip.MustParseAddr(c.to), port)
		assert.Equal(t, dst, answerSource(t, netip.MustParseAddr(c.from), dst))
	}
	assert.Equal(t, 3, s.out.WaitCount("Datagram received from", 3, 5*time.Second), "log:\n%s", s.out)
	assert.Contains(t, s.out.String(), "INFO Datagram received from 127.0.0.1 (127.0.0.1)\n")
	assert.Contains(t, s.out.String(), "INFO Datagram received from ::1 (::1)\n")

	off := uint16(smiletest.FreePort(t))
	startServer(t, "-resolve=false", "-udp=false", "-listen", fmt.Sprintf("127.0.0.1:%d", off))
	c, err := dgram.Dial(context.Background(), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), off))
	require.NoError(t, err)
	defer c.Close()
	_, _, _, _, err = c.Greet(64, 1024, time.Now().Add(2*time.Second))
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
}

// TestDatagramDrainAnswersWhatIsQueued: datagrams that reached the socket
// before the stop are answered, then serve returns: here all 50 are
// queued before serve starts with its context already done.
func TestDatagramDrainAnswersWhatIsQueued(t *testing.T) {
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	c, err := net.DialUDP("udp4", nil, pc.LocalAddr().(*net.UDPAddr))
	require.NoError(t, err)
	defer c.Close()
	for range 50 {
		_, err := c.Write(make([]byte, 64))
		require.NoError(t, err)
	}
	d := &datagrams{greeting: []byte(defaultGreeting), idle: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	require.NoError(t, d.serve(ctx, pc))
	assert.Less(t, time.Since(start), time.Second, "an empty socket ends the drain, not the idle window")
	assert.Equal(t, uint64(50), d.stats().Greetings)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Second)))
	b := make([]byte, 64)
	for i := range 50 {
		n, err := c.Read(b)
		require.NoError(t, err, "answer %d", i)
		assert.Equal(t, defaultGreeting, string(b[:n]))
	}
}
