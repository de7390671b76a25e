package dgram

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/smile-sockets/smile/internal/recverr"
)

// Conn is a UDP socket connected to one server address, from which the
// measurements are made. Connected, it takes answers from that address
// and port only, as an application's connected socket would: an answer
// from another source address of the server is dropped by the kernel,
// which is how a wildcard-bound server that answers from the wrong
// address shows (docs/datagrams.md). It asks for ICMP errors with their
// sender (IP_RECVERR) and for every datagram's TTL or hop limit.
type Conn struct {
	c     *net.UDPConn
	dst   netip.AddrPort
	p4    *ipv4.PacketConn // IPv4: reads with the TTL
	p6    *ipv6.PacketConn // IPv6: reads with the hop limit
	epoch time.Time        // Header.Sent counts nanoseconds since
}

// Dial connects a UDP socket to dst over dst's own family.
func Dial(ctx context.Context, dst netip.AddrPort) (*Conn, error) {
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	network := "udp6"
	if dst.Addr().Is4() {
		network = "udp4"
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, dst.String())
	if err != nil {
		return nil, err
	}
	c := &Conn{c: nc.(*net.UDPConn), dst: dst, epoch: time.Now()}
	if rc, err := c.c.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { err = recverr.Enable(fd, !dst.Addr().Is4()) })
		if err != nil {
			_ = c.c.Close()
			return nil, fmt.Errorf("IP_RECVERR: %w", err)
		}
	}
	// Where the platform cannot say the TTL (Windows), hops stay unknown.
	if dst.Addr().Is4() {
		c.p4 = ipv4.NewPacketConn(c.c)
		if c.p4.SetControlMessage(ipv4.FlagTTL, true) != nil {
			c.p4 = nil
		}
	} else {
		c.p6 = ipv6.NewPacketConn(c.c)
		if c.p6.SetControlMessage(ipv6.FlagHopLimit, true) != nil {
			c.p6 = nil
		}
	}
	return c, nil
}

// Close closes the socket.
func (c *Conn) Close() error { return c.c.Close() }

// Dst is the address the socket is connected to.
func (c *Conn) Dst() netip.AddrPort { return c.dst }

// Local is the socket's own address.
func (c *Conn) Local() netip.AddrPort { return c.c.LocalAddr().(*net.UDPAddr).AddrPort() }

// IPv6 reports an IPv6 socket.
func (c *Conn) IPv6() bool { return !c.dst.Addr().Is4() }

// now is the Conn's clock for Header.Sent.
func (c *Conn) now() uint64 { return uint64(time.Since(c.epoch)) }

// rtt is the time since a Header.Sent of this Conn's clock.
func (c *Conn) rtt(sent uint64) time.Duration { return time.Since(c.epoch) - time.Duration(sent) }

// Send sends b as one datagram. An error the kernel gave at once (EMSGSIZE
// for a datagram above the interface's MTU with don't-fragment set, or a
// queued ICMP error reported on this call) comes as *PathError when the
// error queue says more.
func (c *Conn) Send(b []byte) error {
	_, err := c.c.Write(b)
	if err != nil {
		return c.pathError(err)
	}
	return nil
}

// Recv reads one datagram into buf before deadline and returns it with its
// TTL (hop limit), -1 where unknown. A timeout is os.ErrDeadlineExceeded;
// an ICMP error answering an earlier datagram is a *PathError.
func (c *Conn) Recv(buf []byte, deadline time.Time) ([]byte, int, error) {
	_ = c.c.SetReadDeadline(deadline)
	var n int
	var err error
	ttl := -1
	switch {
	case c.p4 != nil:
		var cm *ipv4.ControlMessage
		n, cm, _, err = c.p4.ReadFrom(buf)
		if cm != nil {
			ttl = cm.TTL
		}
	case c.p6 != nil:
		var cm *ipv6.ControlMessage
		n, cm, _, err = c.p6.ReadFrom(buf)
		if cm != nil {
			ttl = cm.HopLimit
		}
	default:
		n, err = c.c.Read(buf)
	}
	if err != nil {
		return nil, -1, c.pathError(err)
	}
	return buf[:n], ttl, nil
}

// PathError is an error the socket was given with what the error queue
// said about it: the ICMP message (or the host's own error, for a local
// EMSGSIZE) and who sent it.
type PathError struct {
	Err    error          // the read's or write's error
	Report recverr.Report // from the error queue
}

func (e *PathError) Error() string { return e.Err.Error() }
func (e *PathError) Unwrap() error { return e.Err }

// pathError drains the error queue after err and returns err with the last
// report it held, or err alone when the queue was empty (a timeout, or a
// platform without one).
func (c *Conn) pathError(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) || !recverr.Supported {
		return err
	}
	rc, serr := c.c.SyscallConn()
	if serr != nil {
		return err
	}
	var last *recverr.Report
	_ = rc.Control(func(fd uintptr) {
		for range 16 { // bounded: a few per datagram sent at most
			r := recverr.Read(fd)
			if r == nil {
				return
			}
			last = r
		}
	})
	if last == nil {
		return err
	}
	return &PathError{Err: err, Report: *last}
}
