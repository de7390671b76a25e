//go:build linux

package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/smile-sockets/smile/dgram"
)

// DatagramLoop is the datagram load generator: sockets UDP sockets, each
// connected to addr as an application's would be (the kernel drops an
// answer from any other address), send a greeting request of size bytes
// (dgram.Request padded with zeros, as smile-client sends it) and wait up
// to timeout for the greeting, one request in flight per socket, count
// requests in all. A request with no answer in time is a failed probe
// (lost); the round trip of each answer is a probe's latency, so the
// summary reads like DialLoop's: replies/s as Rate, RTT percentiles.
func DatagramLoop(ctx context.Context, addr string, count, sockets, size int, timeout time.Duration, greeting []byte) Summary {
	req := make([]byte, max(size, len(dgram.Request)))
	copy(req, dgram.Request)
	return loop(ctx, count, sockets, func(int) (func() error, func(), error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "udp", addr)
		if err != nil {
			return nil, nil, err
		}
		buf := make([]byte, 2048)
		return func() error { return greetOnce(c, req, buf, time.Now().Add(timeout), greeting) }, func() { _ = c.Close() }, nil
	})
}

// greetOnce sends one request on c and reads one answer by the deadline,
// which must be the greeting. A late answer to
// a request given up on would be taken for the next one's: on loopback
// none is late.
func greetOnce(c net.Conn, req, buf []byte, deadline time.Time, greeting []byte) error {
	if _, err := c.Write(req); err != nil {
		return err
	}
	_ = c.SetReadDeadline(deadline)
	n, err := c.Read(buf)
	if err != nil {
		return fmt.Errorf("no answer: %w", err)
	}
	if !bytes.Equal(buf[:n], greeting) {
		return fmt.Errorf("answer %q, want %q", buf[:n], greeting)
	}
	return nil
}
