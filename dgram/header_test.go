package dgram

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHeaderRoundTrip(t *testing.T) {
	h := Header{Flags: 0, Size: 1232, Seq: 0xdeadbeef, Sent: 0x0102030405060708}
	b := h.Encode(nil, 64)
	require.Len(t, b, 64)
	assert.Equal(t, []byte{0x00, 's', 'm', 'p', 1, 0, 0x04, 0xd0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8}, b[:HeaderLen],
		"the layout docs/datagrams.md draws byte by byte")
	assert.Equal(t, make([]byte, 64-HeaderLen), b[HeaderLen:], "padding is zeros")
	got, err := Decode(b)
	require.NoError(t, err)
	assert.Equal(t, h, got)
}

func TestClassify(t *testing.T) {
	probe := Header{Size: 20}.Encode(nil, 20)
	badVersion := bytes.Clone(probe)
	badVersion[4] = 2
	for _, c := range []struct {
		name string
		in   []byte
		want Kind
	}{
		{"empty", nil, Ordinary},
		{"greeting request", []byte(Request), Ordinary},
		{"magic's first byte only", []byte{0}, Ordinary},
		{"three bytes of magic", Magic[:3], Ordinary},
		{"magic alone", Magic[:], Malformed},
		{"header cut by a byte", probe[:HeaderLen-1], Malformed},
		{"unknown version", badVersion, Malformed},
		{"probe", probe, Probe},
	} {
		t.Run(c.name, func(t *testing.T) { assert.Equal(t, c.want, Classify(c.in)) })
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
			in := Header{Size: uint16(c.asked), Seq: 7}.Encode(nil, c.sent)
			out, clamped, ok := Answer(nil, in)
			require.True(t, ok)
			assert.Len(t, out, c.want)
			assert.Equal(t, c.clamped, clamped)
			assert.Equal(t, in[:HeaderLen], out[:HeaderLen], "the header echoed")
		})
	}
}

// FuzzAnswer: whatever arrives, the answer is never longer than the
// datagram, and is given only to a well-formed probe.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte(Request))
	f.Add(Header{Size: 65535}.Encode(nil, 20))
	f.Add(Magic[:])
	f.Fuzz(func(t *testing.T, in []byte) {
		out, _, ok := Answer(make([]byte, 0, 8), in)
		if len(out) > len(in) {
			t.Fatalf("answer of %d bytes to a datagram of %d", len(out), len(in))
		}
		if ok != (Classify(in) == Probe) {
			t.Fatalf("answered %v, kind %v", ok, Classify(in))
		}
	})
}

func TestHops(t *testing.T) {
	for ttl, want := range map[int]int{64: 0, 63: 1, 1: 63, 128: 0, 120: 8, 255: 0, 250: 5, 0: -1, -1: -1, 256: -1} {
		assert.Equal(t, want, Hops(ttl), "ttl %d", ttl)
	}
}
