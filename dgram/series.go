package dgram

import (
	"context"
	"errors"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/smile-sockets/smile/internal/latency"
)

// SeriesOptions shape a series of probes.
type SeriesOptions struct {
	Count    int           // probes to send, at least 1
	Interval time.Duration // between two sends; 0 sends back to back
	Size     int           // each probe's UDP payload, HeaderLen to MaxPayload; the answer is asked the same
	Wait     time.Duration // how long answers are awaited after the last send
	// StopOnRefused ends the series once a port unreachable came back
	// (ECONNREFUSED: the server's host says no socket is there), its
	// probes unanswered, instead of awaiting answers that cannot come:
	// the mesh's, whose rounds a closed port must not hold up.
	StopOnRefused bool
}

// Series is what a series of probes found. Loss, duplicates and
// reordering are counted by sequence number: an answer whose sequence is
// below the highest already answered came out of order.
type Series struct {
	Sent       int
	Received   int             // distinct probes answered
	Duplicates int             // answers to a probe already answered
	Reordered  int             // answers that came after a later probe's
	RTTs       []time.Duration // of every first answer, sorted
	TTL        int             // the last answer's TTL (hop limit), -1 when unknown or none came
	Err        error           // the last error a read or write gave (a *PathError for ICMP), nil if none
}

// Loss is the share of probes sent that were never answered, 0 to 1.
func (s *Series) Loss() float64 {
	if s.Sent == 0 {
		return 0
	}
	return float64(s.Sent-s.Received) / float64(s.Sent)
}

// RTT is the nearest-rank percentile p of the round trips.
func (s *Series) RTT(p float64) time.Duration { return latency.Percentile(s.RTTs, p) }

// RunSeries sends o.Count probes on c, o.Interval apart, and reads their
// answers while it sends and for o.Wait after the last. The sender runs on
// its own goroutine so that answers never wait in the socket's buffer
// behind the sends, which would show as loss that the path did not cause.
func RunSeries(ctx context.Context, c *Conn, o SeriesOptions) Series {
	s := Series{TTL: -1}
	answered := make([]bool, o.Count)
	done := make(chan struct{})
	sendErr := make(chan error, 1)
	var lastSend time.Time // written by the sender before done is closed
	sent := 0
	go func() {
		defer close(done)
		buf := make([]byte, 0, o.Size)
		var last error
		var tick <-chan time.Time
		if o.Interval > 0 {
			t := time.NewTicker(o.Interval) // sends on a schedule, whatever each send took
			defer t.Stop()
			tick = t.C
		}
		for i := range o.Count {
			if i > 0 && tick != nil {
				select {
				case <-tick:
				case <-ctx.Done():
				}
			}
			if ctx.Err() != nil {
				break
			}
			buf = Header{Size: uint16(o.Size), Seq: uint32(i), Sent: c.now()}.Encode(buf, o.Size)
			if err := c.Send(buf); err != nil {
				last = err
			}
			sent++
		}
		lastSend = time.Now()
		sendErr <- last
	}()
	// An answer is never longer than its probe (AnswerLen): a buffer of
	// the probe's size and a byte more reads any, without the 64 KiB a
	// series would clear for each run (the mesh runs one per peer a round).
	buf := make([]byte, max(o.Size, HeaderLen)+1)
	maxSeq := -1
	finished, refused := false, false
	for {
		deadline := time.Now().Add(100 * time.Millisecond)
		if !finished {
			select {
			case <-done:
				finished = true
				s.Sent = sent
				if err := <-sendErr; err != nil {
					s.Err = err
				}
			default:
			}
		}
		if finished {
			if s.Received == s.Sent || ctx.Err() != nil || refused {
				break
			}
			deadline = lastSend.Add(o.Wait)
			if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
				deadline = d
			}
			if !time.Now().Before(deadline) {
				break
			}
		}
		b, ttl, err := c.Recv(buf, deadline)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				s.Err = err
				refused = refused || (o.StopOnRefused && errors.Is(err, syscall.ECONNREFUSED))
				// An ICMP error is reported once; pause so that a closed
				// port does not spin this loop.
				time.Sleep(time.Millisecond)
			}
			continue
		}
		h, err := Decode(b)
		if err != nil || int(h.Seq) >= o.Count {
			continue // not an answer to this series
		}
		seq := int(h.Seq)
		if answered[seq] {
			s.Duplicates++
			continue
		}
		answered[seq] = true
		s.Received++
		s.RTTs = append(s.RTTs, c.rtt(h.Sent))
		s.TTL = ttl
		if seq < maxSeq {
			s.Reordered++
		}
		maxSeq = max(maxSeq, seq)
	}
	slices.Sort(s.RTTs)
	return s
}
