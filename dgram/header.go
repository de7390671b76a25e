package dgram

import (
	"encoding/binary"
	"errors"
)

// The probe header's layout, in network byte order (docs/datagrams.md,
// "Wire format"): every probe datagram starts with it, every answer echoes
// it byte for byte.
const (
	// HeaderLen is the header's size: the smallest probe datagram.
	HeaderLen = 20
	// Version is the only header version there is.
	Version = 1
	// MaxPayload is the largest UDP payload of an IPv4 datagram (65,535
	// minus the 20-byte IP and 8-byte UDP headers), the largest size a
	// probe may ask for and the largest datagram smile reads.
	MaxPayload = 65507
)

// Magic opens a probe datagram: a zero byte, which no greeting request a
// person types starts with, then "smp" (smile probe).
var Magic = [4]byte{0x00, 's', 'm', 'p'}

// Header is a probe datagram's header.
type Header struct {
	Flags uint8  // reserved: 0 when sent, echoed as received
	Size  uint16 // the answer's size the sender asks for, in bytes of UDP payload
	Seq   uint32 // the sender's sequence number
	Sent  uint64 // the sender's clock when it sent, in its own units: echoed, never read by the server
}

// Kind is what a datagram is to the server.
type Kind int

// A datagram is an ordinary greeting request, a probe, or a malformed
// probe: one that starts with the magic but is too short for the header
// or has a version this side does not know.
const (
	Ordinary Kind = iota
	Probe
	Malformed
)

func (k Kind) String() string {
	return [...]string{"ordinary", "probe", "malformed"}[k]
}

// Errors Decode returns.
var (
	ErrNotProbe = errors.New("not a probe: no magic")
	ErrShort    = errors.New("probe shorter than its header")
	ErrVersion  = errors.New("probe header of an unknown version")
)

// Classify says what b is: a probe only when the whole header is there
// with a known version.
func Classify(b []byte) Kind {
	switch _, err := Decode(b); {
	case err == nil:
		return Probe
	case errors.Is(err, ErrNotProbe):
		return Ordinary
	}
	return Malformed
}

// Decode reads the header at the start of b. It reads no byte past
// HeaderLen and never panics, whatever b holds.
func Decode(b []byte) (Header, error) {
	if len(b) < len(Magic) || [4]byte(b[:4]) != Magic {
		return Header{}, ErrNotProbe
	}
	if len(b) < HeaderLen {
		return Header{}, ErrShort
	}
	if b[4] != Version {
		return Header{}, ErrVersion
	}
	return Header{Flags: b[5], Size: binary.BigEndian.Uint16(b[6:8]), Seq: binary.BigEndian.Uint32(b[8:12]),
		Sent: binary.BigEndian.Uint64(b[12:20])}, nil
}

// Encode writes h into b, which is padded with zeros to size bytes (at
// least HeaderLen, at most MaxPayload) and returned as the datagram.
// b's capacity is reused when large enough.
func (h Header) Encode(b []byte, size int) []byte {
	size = max(HeaderLen, min(size, MaxPayload))
	if cap(b) < size {
		b = make([]byte, size)
	}
	b = b[:size]
	copy(b, Magic[:])
	b[4], b[5] = Version, h.Flags
	binary.BigEndian.PutUint16(b[6:8], h.Size)
	binary.BigEndian.PutUint32(b[8:12], h.Seq)
	binary.BigEndian.PutUint64(b[12:20], h.Sent)
	clear(b[HeaderLen:])
	return b
}

// AnswerLen is how many bytes the answer to a probe of n bytes asking for
// requested is: the requested size, but at least the header and never
// more than n, so a probe can never be answered with more than it sent.
func AnswerLen(requested uint16, n int) int {
	return min(max(int(requested), HeaderLen), n)
}

// Answer writes into out the answer to the probe in: its header echoed,
// padded with zeros to AnswerLen. It returns the answer, or ok false when
// in is not a well-formed probe (Classify says which). clamped reports a
// request for more than in carried, answered with len(in) bytes.
// out needs a capacity of len(in); a smaller one is grown.
func Answer(out, in []byte) (answer []byte, clamped, ok bool) {
	h, err := Decode(in)
	if err != nil {
		return nil, false, false
	}
	n := AnswerLen(h.Size, len(in))
	return h.Encode(out, n), int(h.Size) > len(in), true
}
