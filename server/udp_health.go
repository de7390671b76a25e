package server

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/smile-sockets/smile/dgram"
)

// udpHealthy greets target (IP:PORT on loopback) over a datagram as
// smile-client -udp does, with a request padded to the greeting's length,
// and checks the answer, before ctx's deadline.
func udpHealthy(ctx context.Context, target string, greeting []byte) error {
	ua, err := net.ResolveUDPAddr("udp", target) // a -listen name: its first address
	if err != nil {
		return fmt.Errorf("can't resolve %s: %w", target, err)
	}
	dst := ua.AddrPort()
	c, err := dgram.Dial(ctx, dst)
	if err != nil {
		return fmt.Errorf("can't reach %s over UDP: %w", target, err)
	}
	defer c.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(HealthTimeout)
	}
	got, _, _, _, err := c.Greet(len(greeting), len(greeting)+1, deadline)
	switch {
	case err != nil:
		return fmt.Errorf("no answer over UDP from %s: %w", target, err)
	case !bytes.Equal(got, greeting):
		return fmt.Errorf("%s greeted %q over UDP, want %q", target, got, greeting)
	}
	return nil
}
