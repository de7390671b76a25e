package dgram_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/dgram"
)

func TestHeaderRoundTrip(t *testing.T) {
	h := dgram.Header{Flags: 0, Size: 1232, Seq: 0xdeadbeef, Sent: 0x0102030405060708}
	b := h.Encode(nil, 64)
	require.Len(t, b, 64)
	assert.Equal(t, []byte{0x00, 's', 'm', 'p', 1, 0, 0x04, 0xd0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8}, b[:dgram.HeaderLen],
		"the layout docs/datagrams.md draws byte by byte")
	assert.Equal(t, make([]byte, 64-dgram.HeaderLen), b[dgram.HeaderLen:], "padding is zeros")
	got, err := dgram.Decode(b)
	require.NoError(t, err)
	assert.Equal(t, h, got)
}

func TestClassify(t *testing.T) {
	probe := dgram.Header{Size: 20}.Encode(nil, 20)
	badVersion := bytes.Clone(probe)
	badVersion[4] = 2
	for _, c := range []struct {
		name string
		in   []byte
		want dgram.Kind
	}{
		{"empty", nil, dgram.Ordinary},
		{"greeting request", []byte(dgram.Request), dgram.Ordinary},
		{"magic's first byte only", []byte{0}, dgram.Ordinary},
		{"three bytes of magic", dgram.Magic[:3], dgram.Ordinary},
		{"magic alone", dgram.Magic[:], dgram.Malformed},
		{"header cut by a byte", probe[:dgram.HeaderLen-1], dgram.Malformed},
		{"unknown version", badVersion, dgram.Malformed},
		{"probe", probe, dgram.Probe},
	} {
		t.Run(c.name, func(t *testing.T) { assert.Equal(t, c.want, dgram.Classify(c.in)) })
	}
}

func TestAnswerNeverLongerThanProbe(t *testing.T) {
	for _, c := range []struct {
		name        string
		asked, sent int
		want        int
		clamped     bool
	}{
		{"header only", 0, 20, 20, false},
		{"asks what it sent", 512, 512, 512, false},
		{"asks less", 20, 1400, 20, false},
		{"asks more than it sent", 1400, 64, 64, true},
		{"asks the most", 65535, 20, 20, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := dgram.Header{Size: uint16(c.asked), Seq: 7}.Encode(nil, c.sent)
			out, clamped, ok := dgram.Answer(nil, in)
			require.True(t, ok)
			assert.Len(t, out, c.want)
			assert.Equal(t, c.clamped, clamped)
			assert.Equal(t, in[:dgram.HeaderLen], out[:dgram.HeaderLen], "the header echoed")
		})
	}
}

// FuzzAnswer: whatever arrives, the answer is never longer than the
// datagram, and is given only to a well-formed probe.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte(dgram.Request))
	f.Add(dgram.Header{Size: 65535}.Encode(nil, 20))
	f.Add(dgram.Magic[:])
	f.Fuzz(func(t *testing.T, in []byte) {
		out, _, ok := dgram.Answer(make([]byte, 0, 8), in)
		if len(out) > len(in) {
			t.Fatalf("answer of %d bytes to a datagram of %d", len(out), len(in))
		}
		if ok != (dgram.Classify(in) == dgram.Probe) {
			t.Fatalf("answered %v, kind %v", ok, dgram.Classify(in))
		}
	})
}

func TestHops(t *testing.T) {
	for ttl, want := range map[int]int{64: 0, 63: 1, 1: 63, 128: 0, 120: 8, 255: 0, 250: 5, 0: -1, -1: -1, 256: -1} {
		assert.Equal(t, want, dgram.Hops(ttl), "ttl %d", ttl)
	}
}
