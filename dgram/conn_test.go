package dgram_test

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

	"github.com/smile-sockets/smile/dgram"
	"github.com/smile-sockets/smile/internal/smiletest"
)

// responder is smile-server's answering, on a loopback socket.
var responder = smiletest.UDPResponder

func dial(t *testing.T, dst netip.AddrPort) *dgram.Conn {
	t.Helper()
	c, err := dgram.Dial(context.Background(), dst)
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
			assert.Equal(t, 0, dgram.Hops(ttl), "loopback: no router crossed (ttl %d)", ttl)

			s := dgram.RunSeries(context.Background(), conn, dgram.SeriesOptions{Count: 200, Size: 64, Wait: time.Second})
			require.NoError(t, s.Err)
			assert.Equal(t, 200, s.Sent)
			assert.Equal(t, 200, s.Received)
			assert.Zero(t, s.Loss())
			assert.Zero(t, s.Duplicates)
			assert.Len(t, s.RTTs, 200)
			assert.Equal(t, 0, dgram.Hops(s.TTL))
		})
	}
}

func TestSeriesCountsDuplicates(t *testing.T) {
	conn := dial(t, responder(t, "udp4", "127.0.0.1:0", "x", true))
	s := dgram.RunSeries(context.Background(), conn, dgram.SeriesOptions{Count: 20, Interval: time.Millisecond, Size: 32, Wait: 300 * time.Millisecond})
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
			var pe *dgram.PathError
			if errors.As(err, &pe) { // Linux: the error queue names who sent it
				assert.Equal(t, dst.Addr().Unmap(), pe.Report.From)
			}
		})
	}
}

// TestSeriesStopsOnRefused: with StopOnRefused a series to a closed port
// ends at the port unreachable, every probe lost, well before its Wait.
func TestSeriesStopsOnRefused(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	dst := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	require.NoError(t, pc.Close())
	conn := dial(t, dst)
	start := time.Now()
	s := dgram.RunSeries(context.Background(), conn, dgram.SeriesOptions{Count: 5, Interval: 5 * time.Millisecond, Size: 64,
		Wait: 5 * time.Second, StopOnRefused: true})
	assert.Less(t, time.Since(start), time.Second, "ended at the port unreachable, not after Wait")
	assert.Equal(t, 5, s.Sent)
	assert.Zero(t, s.Received)
	assert.Equal(t, 1.0, s.Loss())
	assert.ErrorIs(t, s.Err, syscall.ECONNREFUSED)
}
