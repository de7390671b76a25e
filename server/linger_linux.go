package server

import (
	"net"
	"time"
)

// dropUntilFIN drops what the peer sends, without copying it (dropRaw),
// until its FIN, lingerMax bytes or lingerTimeout; without wait, only what
// has already arrived.
func dropUntilFIN(_ net.Conn, tc halfCloser, wait bool) {
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	_ = tc.SetReadDeadline(time.Now().Add(lingerTimeout))
	dropped := 0
	_ = raw.Read(func(fd uintptr) bool {
		n, more := dropRaw(int(fd), lingerMax-dropped)
		dropped += n
		return !more || !wait // wait for more, or the FIN, or the deadline
	})
}

// discardSink is where recv(2) is told to put the bytes a lingering close
// drops. With MSG_TRUNC nothing is written here, so one buffer serves every
// connection; no connection ever reads it.
var discardSink [64 << 10]byte
