package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/smile-sockets/smile/dgram"
)

// datagrams answers the datagrams of UDP sockets, one goroutine a socket:
// each datagram is read whole and answered at once or not at all, with
// at most one answer and nothing kept per peer, so a flood costs
// the server no more than the datagrams it reads (docs/datagrams.md, "What
// the server answers"). A greeting request no shorter than the greeting
// gets the greeting; a probe gets its header echoed, padded to the size it
// asks for but never above its own (dgram.Answer); nothing else is
// answered. Every answer leaves from the address the datagram was sent to
// (udp_pktinfo.go); on Linux datagrams are read and answered in batches
// (udp_pktinfo_linux.go), so an answer may leave a few datagrams later,
// and never after the socket is found empty.
type datagrams struct {
	greeting []byte
	log      func(at time.Time, peer netip.AddrPort) // the log line of one ordinary datagram answered
	idle     time.Duration                           // a stopping socket's window for what is queued
	counts   datagramCounts
}

// datagramCounts are the datagram totals, one atomic add per datagram.
type datagramCounts struct {
	greeted, probes, clamped, short, malformed, failed atomic.Uint64
}

// DatagramStats are the datagram totals since start, for /metrics.
type DatagramStats struct {
	Greetings uint64 // greeting requests answered with the greeting (Failed counts those not sent)
	Probes    uint64 // probes answered (mesh and smile-client -count, -pmtu): counted, not logged
	Clamped   uint64 // probes that asked for more than they carried, answered with what they carried
	Short     uint64 // greeting requests shorter than the greeting: not answered
	Malformed uint64 // datagrams that start like a probe but are not one: not answered
	Failed    uint64 // answers the socket did not send
}

func (d *datagrams) stats() DatagramStats {
	c := &d.counts
	return DatagramStats{Greetings: c.greeted.Load(), Probes: c.probes.Load(), Clamped: c.clamped.Load(),
		Short: c.short.Load(), Malformed: c.malformed.Load(), Failed: c.failed.Load()}
}

// maxDatagram is the largest datagram a socket reads whole: a UDP length
// field's 65,535 bytes less its 8-byte header.
const maxDatagram = 65535 - 8

// serve answers on pc until ctx is done, then answers what is already
// queued, for at most the idle window, and returns; it closes pc.
func (d *datagrams) serve(ctx context.Context, pc *net.UDPConn) error {
	defer pc.Close()
	rw := newPktConn(pc, &d.counts.failed)
	defer rw.flush()         // before the close: what the last batch holds was answered
	var stopped atomic.Int64 // when the stop came, in Unix nanoseconds
	stop := context.AfterFunc(ctx, func() {
		// Told to stop: the read under way ends, and a send waiting for
		// room in the send buffer waits no longer than the drain may.
		now := time.Now()
		stopped.Store(now.UnixNano())
		_ = pc.SetWriteDeadline(now.Add(d.idle + acceptFloor))
		_ = pc.SetReadDeadline(now)
	})
	defer stop()
	in := make([]byte, maxDatagram+1)
	out := make([]byte, 0, maxDatagram)
	var drainEnd time.Time
	for {
		n, peer, local, err := rw.read(in)
		if err != nil {
			switch {
			case ctx.Err() != nil && isTimeout(err) && drainEnd.IsZero():
				// Stopping: what the socket holds now was sent before the
				// stop, so it is answered, within the window.
				// The answers waiting go first: a read's flush can wait
				// for room in the send buffer, which must not eat the
				// window that says the socket is empty.
				// Sending waits no longer than the window either: an
				// answer that cannot leave by then is counted failed, so a
				// stalled link cannot hold the stop.
				// The window counts from the stop, not from here: a send
				// that waited before this read took from it already.
				drainEnd = time.Now().Add(d.idle)
				if at := stopped.Load(); at != 0 {
					drainEnd = time.Unix(0, at).Add(d.idle)
				}
				_ = pc.SetWriteDeadline(drainEnd.Add(acceptFloor))
				rw.flush()
				_ = pc.SetReadDeadline(time.Now().Add(acceptFloor))
				continue
			case ctx.Err() != nil && (isTimeout(err) || errors.Is(err, net.ErrClosed)):
				return nil
			case isTimeout(err):
				continue
			}
			return err
		}
		d.answer(rw, in[:n], out, peer, local)
		if !drainEnd.IsZero() {
			if !time.Now().Before(drainEnd) {
				return nil
			}
			rw.flush()
			_ = pc.SetReadDeadline(time.Now().Add(acceptFloor))
		}
	}
}

// answer answers one datagram, or counts why not.
func (d *datagrams) answer(rw pktConn, in, out []byte, peer, local netip.AddrPort) {
	var reply []byte
	greeting := false
	switch dgram.Classify(in) {
	case dgram.Probe:
		a, clamped, _ := dgram.Answer(out, in)
		if clamped {
			d.counts.clamped.Add(1)
		}
		reply = a
	case dgram.Malformed:
		d.counts.malformed.Add(1)
		return
	default:
		if len(in) < len(d.greeting) {
			d.counts.short.Add(1) // answering would send more than came: an amplifier
			return
		}
		reply, greeting = d.greeting, true
	}
	// Counted before the write, so that whoever reads the answer finds it
	// counted.
	if greeting {
		d.counts.greeted.Add(1)
	} else {
		d.counts.probes.Add(1)
	}
	if err := rw.write(reply, peer, local); err != nil {
		d.counts.failed.Add(1)
		return
	}
	if greeting && d.log != nil {
		d.log(time.Now(), peer)
	}
}

// logDatagram is the log line of a greeting sent over a datagram, the
// TCP line's twin: "Datagram received from NAME (ADDR)", written straight
// into a pooled buffer by the text form, as the TCP line is.
func logDatagram(log *slog.Logger, at time.Time, peer netip.AddrPort, name string) {
	if h, ok := log.Handler().(*textHandler); ok && peer.Addr().Zone() == "" {
		_ = h.writePeer(at, "Datagram received from ", peer, name)
		return
	}
	addr := peer.Addr().String()
	if name == "" {
		name = addr
	}
	r := slog.NewRecord(at, slog.LevelInfo, "Datagram received from "+name+" ("+addr+")", 0)
	r.AddAttrs(slog.String("peer", addr), slog.Int("port", int(peer.Port())), slog.String("name", name), slog.String("proto", "udp"))
	_ = log.Handler().Handle(context.Background(), r)
}
