package dgram

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// responder answers on a loopback socket as smile-server does: probes
// with Answer, a greeting request at least as long as greeting with the
// greeting. dup answers every probe twice.
func responder(t *testing.T, network, addr, greeting string, dup bool) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Skipf("no %s here: %v", addr, err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		in, out := make([]byte, MaxPayload+1), make([]byte, MaxPayload)
		for {
			n, from, err := pc.ReadFrom(in)
			if err != nil {
				return
			}
			if a, _, ok := Answer(out, in[:n]); ok {
				_, _ = pc.WriteTo(a, from)
				if dup {
					_, _ = pc.WriteTo(a, from)
				}
			} else if Classify(in[:n]) == Ordinary && n >= len(greeting) {
				_, _ = pc.WriteTo([]byte(greeting), from)
			}
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func dial(t *testing.T, dst netip.AddrPort) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), dst)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestGreetAndSeriesOnLoopback(t *testing.T) {
	for _, c := range []struct{ network, addr string }{{"udp4", "127.0.0.1:0"}, {"udp6", "[::1]:0"}} {
		t.Run(c.network, func(t *testing.T) {
			dst := responder(t, c.network, c.addr, "Smile from the server", false)
			conn := dial(t, dst)
			data, ttl, _, truncated, err := conn.Greet(64, 1000, time.Now().Add(2*time.Second))
			require.NoError(t, err)
			assert.Equal(t, "Smile from the server", string(data))
			assert.False(t, truncated)
			assert.Equal(t, 0, Hops(ttl), "loopback: no router crossed (ttl %d)", ttl)

			s := RunSeries(context.Background(), conn, SeriesOptions{Count: 200, Size: 64, Wait: time.Second})
			require.NoError(t, s.Err)
			assert.Equal(t, 200, s.Sent)
			assert.Equal(t, 200, s.Received)
			assert.Zero(t, s.Loss())
			assert.Zero(t, s.Duplicates)
			assert.Len(t, s.RTTs, 200)
			assert.Equal(t, 0, Hops(s.TTL))
		})
	}
}

func TestSeriesCountsDuplicates(t *testing.T) {
	conn := dial(t, responder(t, "udp4", "127.0.0.1:0", "x", true))
	s := RunSeries(context.Background(), conn, SeriesOptions{Count: 20, Interval: time.Millisecond, Size: 32, Wait: 300 * time.Millisecond})
	assert.Equal(t, 20, s.Received)
	// The series ends once every probe is answered: the last probe's
	// second answer may come after.
	assert.Contains(t, []int{19, 20}, s.Duplicates)
}

func TestGreetShortRequestTimesOut(t *testing.T) {
	conn := dial(t, responder(t, "udp4", "127.0.0.1:0", "Smile from the server", false))
	_, _, _, _, err := conn.Greet(8, 1000, time.Now().Add(300*time.Millisecond))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "a request shorter than the greeting gets no answer")
}

// TestClosedPortIsRefusedByTheServerItself: ICMP port unreachable arrives
// as ECONNREFUSED with its sender read off the error queue.
func TestClosedPortIsRefusedByTheServerItself(t *testing.T) {
	for _, c := range []struct{ network, addr string }{{"udp4", "127.0.0.1:0"}, {"udp6", "[::1]:0"}} {
		t.Run(c.network, func(t *testing.T) {
			pc, err := net.ListenPacket(c.network, c.addr)
			if err != nil {
				t.Skipf("no %s: %v", c.addr, err)
			}
			dst := pc.LocalAddr().(*net.UDPAddr).AddrPort()
			require.NoError(t, pc.Close())
			conn := dial(t, dst)
			_, _, _, _, err = conn.Greet(64, 1000, time.Now().Add(2*time.Second))
			require.ErrorIs(t, err, syscall.ECONNREFUSED)
			var pe *PathError
			if errors.As(err, &pe) { // Linux: the error queue names who sent it
				assert.Equal(t, dst.Addr().Unmap(), pe.Report.From)
			}
		})
	}
}
