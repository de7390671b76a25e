//go:build linux

package main

import (
	"io"
	"net"
	"sync"
	"time"
)

// matrixHolders is how many clients hold /matrix.json of the meshon row's
// server while the rounds run: each asks for it and never reads, asking
// again on a new connection every holdFor, so that the
// greetings are measured beside the -http clients that cost a node most.
const matrixHolders = 64

// holdFor is how long a holder keeps a connection: longer than the
// server lets a write stall.
const holdFor = 5 * time.Second

// holders keeps matrixHolders connections asking for /matrix.json of
// the server at web until stop.
type holders struct {
	stopc   chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	asked   int // requests sent, reconnections included
	dialErr int
}

func holdMatrix(web string) *holders {
	h := &holders{stopc: make(chan struct{})}
	for range matrixHolders {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			for {
				select {
				case <-h.stopc:
					return
				default:
				}
				h.holdOnce(web)
			}
		}()
	}
	return h
}

// holdOnce asks once and waits, reading nothing, until the server gives
// up on the connection or the holders stop.
func (h *holders) holdOnce(web string) {
	c, err := net.DialTimeout("tcp", web, time.Second)
	if err != nil {
		h.mu.Lock()
		h.dialErr++
		h.mu.Unlock()
		select {
		case <-h.stopc:
		case <-time.After(100 * time.Millisecond):
		}
		return
	}
	defer c.Close()
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := io.WriteString(c, "GET /matrix.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		return
	}
	h.mu.Lock()
	h.asked++
	h.mu.Unlock()
	// Never read the answer; after holdFor, ask again on a new
	// connection (the server has cut this one off by then).
	select {
	case <-h.stopc:
	case <-time.After(holdFor):
	}
}

func (h *holders) stop() (asked, dialErrs int) {
	close(h.stopc)
	h.wg.Wait()
	return h.asked, h.dialErr
}
