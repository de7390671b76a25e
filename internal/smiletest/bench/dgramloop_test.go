//go:build linux

package bench

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDatagramLoop: every request answered with the greeting is an ok
// probe; a request answered with anything else, or not at all, a failed
// one, so that ok and failed add up to the count.
func TestDatagramLoop(t *testing.T) {
	tests := []struct {
		name      string
		answer    string // "" for none
		ok, fails int
		firstErr  string
	}{
		{name: "greeting", answer: Greeting, ok: 40},
		{name: "wrong bytes", answer: "hello", fails: 40, firstErr: `answer "hello", want "Smile from the server"`},
		{name: "silent", fails: 40, firstErr: "no answer: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { _ = pc.Close() })
			go func() {
				buf := make([]byte, 2048)
				for {
					n, from, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					if tt.answer != "" && n >= len(Greeting) {
						_, _ = pc.WriteTo([]byte(tt.answer), from)
					}
				}
			}()
			s := DatagramLoop(context.Background(), pc.LocalAddr().String(), 40, 4, 64, 50*time.Millisecond, []byte(Greeting))
			assert.Equal(t, tt.ok, s.OKProbes)
			assert.Equal(t, tt.fails, s.FailedProbes)
			assert.Contains(t, s.FirstError, tt.firstErr)
		})
	}
}
