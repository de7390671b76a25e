package dgram

import (
	"errors"
	"os"
	"time"
)

// Request is what an ordinary greeting request starts with; the rest of
// the datagram is zeros, padding it to the size asked for. Any datagram
// that does not start with Magic is a greeting request: this text only
// makes one readable in a capture.
const Request = "smile?"

// resendEvery is how long a greeting request goes unanswered before it is
// sent again, as a DNS stub resolver does: one lost datagram should not
// cost the whole timeout.
const resendEvery = time.Second

// Greet sends a greeting request of size bytes (the server answers only a
// datagram at least as long as its greeting) and returns the first
// ordinary datagram that comes back before deadline, with its TTL (hop
// limit) and the time since the request it answers was sent. A
// datagram longer than maxBytes is cut there and reported by truncated.
func (c *Conn) Greet(size, maxBytes int, deadline time.Time) (data []byte, ttl int, rtt time.Duration, truncated bool, err error) {
	req := make([]byte, max(size, len(Request)))
	copy(req, Request)
	buf := make([]byte, MaxPayload+1)
	for {
		sent := time.Now()
		if err := c.Send(req); err != nil {
			return nil, -1, 0, false, err
		}
		wait := sent.Add(resendEvery)
		if deadline.Before(wait) {
			wait = deadline
		}
		for {
			b, ttl, err := c.Recv(buf, wait)
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded) && wait.Before(deadline):
			case err != nil:
				return nil, -1, 0, false, err
			case Classify(b) != Ordinary:
				continue // a late answer to someone's probe: not a greeting
			default:
				if len(b) > maxBytes {
					return b[:maxBytes], ttl, time.Since(sent), true, nil
				}
				return b, ttl, time.Since(sent), false, nil
			}
			break
		}
	}
}
