// Package dnstest is a DNS server for tests, on loopback UDP, so that
// resolver behaviour (names with several addresses, AAAA-only names,
// hostile PTR records, a server that never answers) is tested against real
// packets without sending a query anywhere else.
package dnstest

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Server answers A, AAAA and PTR queries from its tables, NXDOMAIN for
// names it does not know, and nothing at all while Silent.
type Server struct {
	// Addr is the IP:PORT to hand to -resolver.
	Addr string

	conn    net.PacketConn
	mu      sync.Mutex
	hosts   map[string][]netip.Addr
	ptrs    map[string]string
	rawPTRs map[string][]byte
	silent  bool
	delay   time.Duration
	queries atomic.Int64
	wg      sync.WaitGroup
}

// Start runs a server on 127.0.0.1 until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := Listen()
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Listen runs a server on 127.0.0.1 until Close, for programs that are not
// tests (the benchmark harness's dead resolver is a silent one).
func Listen() (*Server, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: pc.LocalAddr().String(), conn: pc, hosts: map[string][]netip.Addr{}, ptrs: map[string]string{}, rawPTRs: map[string][]byte{}}
	s.wg.Add(1)
	go s.loop()
	return s, nil
}

// Close stops the server and waits for answers it was still delaying.
func (s *Server) Close() error {
	err := s.conn.Close()
	s.wg.Wait()
	return err
}

func fqdn(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// AddHost gives name the addresses (A and AAAA records).
func (s *Server) AddHost(name string, addrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range addrs {
		s.hosts[fqdn(name)] = append(s.hosts[fqdn(name)], netip.MustParseAddr(a))
	}
}

// SetHost replaces name's addresses with addrs (none: the name is
// unknown, NXDOMAIN), as DNS changes when hosts come and go.
func (s *Server) SetHost(name string, addrs ...string) {
	s.mu.Lock()
	delete(s.hosts, fqdn(name))
	s.mu.Unlock()
	s.AddHost(name, addrs...)
}

// AddPTR makes a reverse lookup of ip answer name, byte for byte: it may
// hold anything a hostile resolver could send.
func (s *Server) AddPTR(ip, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ptrs[reverseName(netip.MustParseAddr(ip))] = name
}

// AddRawPTR makes a reverse lookup of ip answer one PTR record whose RDATA
// is rdata, byte for byte and unchecked: names no encoder would write
// (labels over 63 bytes, names over 255, compression loops, control bytes
// and dots inside labels) reach the resolver under test as a hostile DNS
// server would send them. Build rdata with WireName or by hand; keep it
// under 1000 bytes so that the answer fits one UDP datagram.
func (s *Server) AddRawPTR(ip string, rdata []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rawPTRs[reverseName(netip.MustParseAddr(ip))] = append([]byte(nil), rdata...)
}

// WireName encodes labels in DNS wire form without any check: each label
// is prefixed with its length as one byte (a label of 64 bytes or more
// thus gets a reserved or pointer prefix) and the root label ends the name.
func WireName(labels ...string) []byte {
	var b []byte
	for _, l := range labels {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// SetSilent makes the server swallow queries without answering, like a
// dead resolver behind a firewall that drops packets.
func (s *Server) SetSilent(silent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent = silent
}

// SetDelay makes every answer wait d, like a slow resolver.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Queries is how many queries arrived.
func (s *Server) Queries() int64 { return s.queries.Load() }

func reverseName(a netip.Addr) string {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return strings.ToLower(netip.AddrFrom4([4]byte{b[3], b[2], b[1], b[0]}).String()) + ".in-addr.arpa."
	}
	const hex = "0123456789abcdef"
	b := a.As16()
	var sb strings.Builder
	for i := 15; i >= 0; i-- {
		sb.WriteByte(hex[b[i]&0xf])
		sb.WriteByte('.')
		sb.WriteByte(hex[b[i]>>4])
		sb.WriteByte('.')
	}
	return sb.String() + "ip6.arpa."
}

func (s *Server) loop() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.queries.Add(1)
		s.mu.Lock()
		silent, delay := s.silent, s.delay
		s.mu.Unlock()
		if silent {
			continue
		}
		resp, ok := s.answer(buf[:n])
		if !ok {
			continue
		}
		if delay > 0 {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				time.Sleep(delay)
				_, _ = s.conn.WriteTo(resp, from)
			}()
			continue
		}
		_, _ = s.conn.WriteTo(resp, from)
	}
}

func (s *Server) answer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	name := strings.ToLower(q.Name.String())
	s.mu.Lock()
	addrs, hostKnown := s.hosts[name]
	ptr, ptrKnown := s.ptrs[name]
	raw, rawKnown := s.rawPTRs[name]
	s.mu.Unlock()

	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	if !hostKnown && !ptrKnown && !rawKnown {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	_ = b.StartQuestions()
	_ = b.Question(q)
	_ = b.StartAnswers()
	rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	switch q.Type {
	case dnsmessage.TypeA, dnsmessage.TypeAAAA:
		for _, a := range addrs {
			switch {
			case q.Type == dnsmessage.TypeA && a.Is4():
				_ = b.AResource(rr, dnsmessage.AResource{A: a.As4()})
			case q.Type == dnsmessage.TypeAAAA && a.Is6():
				_ = b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
			}
		}
	case dnsmessage.TypePTR:
		if ptrKnown && !rawKnown {
			if n, err := dnsmessage.NewName(fqdn(ptr)); err == nil {
				_ = b.PTRResource(rr, dnsmessage.PTRResource{PTR: n})
			}
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil, false
	}
	if rawKnown && q.Type == dnsmessage.TypePTR {
		out = appendRawPTR(out, raw)
	}
	return out, true
}

// appendRawPTR adds one PTR answer with the given RDATA to a packed
// response that has none: the owner is a pointer to the question's name,
// which always starts right after the 12-byte header.
func appendRawPTR(msg, rdata []byte) []byte {
	msg[6], msg[7] = 0, 1 // ANCOUNT
	msg = append(msg,
		0xc0, 12, // NAME: pointer to the question
		0, byte(dnsmessage.TypePTR), // TYPE
		0, byte(dnsmessage.ClassINET), // CLASS
		0, 0, 0, 60, // TTL
		byte(len(rdata)>>8), byte(len(rdata)), // RDLENGTH
	)
	return append(msg, rdata...)
}
