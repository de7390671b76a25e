package smiletest

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/smile-sockets/smile/internal/smiletest/procfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGreetAndTimeWait: Greet reads to EOF, and the side that closed
// first holds TIME_WAIT on its port.
func TestGreetAndTimeWait(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = c.Write([]byte("hi"))
			_ = c.Close()
		}
	}()
	got, err := Peer{}.Greet(ln.Addr().String())
	require.NoError(t, err)
	assert.Equal(t, "hi", got)
	port := ln.Addr().(*net.TCPAddr).Port
	assert.Eventually(t, func() bool { return procfs.TimeWait(port) == 1 }, 2*time.Second, 10*time.Millisecond, "TIME_WAIT on "+strconv.Itoa(port))

	_, err = Peer{}.Greet("127.0.0.1:1")
	assert.ErrorIs(t, err, ErrConnect)
}

func TestBufferLogLines(t *testing.T) {
	var b Buffer
	_, _ = b.Write([]byte("2026-01-01T00:00:00.000Z INFO SERVER started\n2026-01-01T00:00:00.000Z WARN w err=x\n"))
	assert.Equal(t, []string{"SERVER started", "w err=x"}, b.LogLines())
	assert.True(t, b.WaitFor(t, "started", time.Second))
	assert.Equal(t, 0, b.WaitCount("absent", 1, 10*time.Millisecond))
}
