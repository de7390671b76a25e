//go:build !linux

package server

import (
	"net"
	"sync"
	"time"
)

// lingerGlance is how long a close that cannot wait reads: long enough
// to take what has already arrived, which Go's Read cannot do with a
// deadline already past.
const lingerGlance = time.Millisecond

// dropBufs are the buffers the peer's bytes are read into and dropped:
// without Linux's recv(2) with MSG_TRUNC (linger_linux.go) the bytes are
// copied, into one buffer per close in progress.
var dropBufs = sync.Pool{New: func() any { return new([16 << 10]byte) }}

// dropUntilFIN reads and drops what the peer sends until its FIN,
// lingerMax bytes or lingerTimeout; without wait, only what has already
// arrived.
func dropUntilFIN(conn net.Conn, tc halfCloser, wait bool) {
	d := lingerTimeout
	if !wait {
		d = lingerGlance
	}
	_ = tc.SetReadDeadline(time.Now().Add(d))
	buf := dropBufs.Get().(*[16 << 10]byte)
	defer dropBufs.Put(buf)
	for dropped := 0; dropped < lingerMax; {
		n, err := conn.Read(buf[:min(len(buf), lingerMax-dropped)])
		dropped += n
		if err != nil {
			return // the FIN (io.EOF), a reset or the deadline
		}
	}
}
