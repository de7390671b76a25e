package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smile-sockets/smile/internal/resolver"
)

// prober runs probes: connect, read everything up to -max-bytes, close.
type prober struct {
	cfg    *Config
	dialer net.Dialer
	res    *net.Resolver
	vmu    sync.Mutex
	vout   io.Writer // -v output, nil when quiet
}

func newProber(cfg *Config, stderr io.Writer) *prober {
	p := &prober{cfg: cfg, res: resolver.New(cfg.Resolver)}
	p.dialer = net.Dialer{Timeout: cfg.Timeout, Resolver: p.res}
	if cfg.Verbose {
		p.vout = stderr
		p.dialer.ControlContext = func(_ context.Context, network, address string, _ syscall.RawConn) error {
			p.say("dialling %s over %s", address, familyOfNetwork(network))
			return nil
		}
	}
	return p
}

func (p *prober) say(format string, args ...any) {
	p.vmu.Lock()
	defer p.vmu.Unlock()
	fmt.Fprintf(p.vout, "smile-client: "+format+"\n", args...)
}

// result is one probe's outcome.
type result struct {
	target  string // as asked: host:port
	addr    string // the address dialled, when known
	family  string // IPv4 or IPv6, when known
	connect time.Duration
	total   time.Duration
	data    []byte
	class   string // "" when the probe succeeded
	err     error
	phase   string // where it failed: resolve, connect, read, expect
}

func (r *result) ok() bool { return r.class == "" }

// message is the one-line error for a failed probe: target, address and
// cause class, e.g. "can't connect to 172.30.0.10:7890: refused".
func (r *result) message() string {
	where := r.target
	if r.addr != "" && r.addr != r.target {
		where += " (" + r.addr + ")"
	}
	detail := ""
	switch r.class {
	case classDNS:
		host, _, _ := net.SplitHostPort(r.target)
		return fmt.Sprintf("can't resolve %s: dns: %s", host, dnsDetail(r.err))
	case classOther, classUnreachable:
		detail = ": " + rootCause(r.err)
	case classTooLarge, classMismatch:
		detail = ": " + r.err.Error()
	}
	switch r.phase {
	case "read":
		return fmt.Sprintf("can't read the greeting from %s: %s%s", where, r.class, detail)
	case "expect":
		return fmt.Sprintf("unexpected greeting from %s: %s%s", where, r.class, detail)
	}
	return fmt.Sprintf("can't connect to %s: %s%s", where, r.class, detail)
}

// probe connects to target over network and reads the whole greeting into
// buf (reused across probes by the caller; nil allocates).
func (p *prober) probe(ctx context.Context, target, network string, buf []byte) result {
	r := result{target: target}
	start := time.Now()
	conn, err := p.dialer.DialContext(ctx, network, target)
	r.connect = time.Since(start)
	if err != nil {
		r.err, r.class, r.phase = err, classify(err), "connect"
		var op *net.OpError
		if errors.As(err, &op) && op.Addr != nil {
			r.addr = op.Addr.String()
			r.family = familyOf(op.Addr)
		}
		r.total = time.Since(start)
		return r
	}
	r.addr, r.family = conn.RemoteAddr().String(), familyOf(conn.RemoteAddr())
	if p.vout != nil {
		p.say("connected to %s over %s", r.addr, r.family)
	}
	data, err := p.readAll(conn, buf)
	_ = conn.Close()
	r.total = time.Since(start)
	r.data = data
	if err != nil {
		r.err, r.class, r.phase = err, classify(err), "read"
		return r
	}
	if p.cfg.HasExpect && string(data) != p.cfg.Expect {
		r.err = fmt.Errorf("got %s, want %s", quoteShort(data), quoteShort([]byte(p.cfg.Expect)))
		r.class, r.phase = classMismatch, "expect"
	}
	return r
}

var errTooLarge = errors.New("too large")

// readAll reads until EOF, within -read-timeout and -max-bytes.
func (p *prober) readAll(conn net.Conn, buf []byte) ([]byte, error) {
	_ = conn.SetReadDeadline(time.Now().Add(p.cfg.ReadTimeout))
	limit := p.cfg.MaxBytes + 1
	if buf == nil {
		buf = make([]byte, 0, min(512, limit))
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(2*cap(buf)+64, limit))
			copy(nb, buf)
			buf = nb
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > p.cfg.MaxBytes {
			return buf[:p.cfg.MaxBytes], fmt.Errorf("%w: more than %d bytes (-max-bytes)", errTooLarge, p.cfg.MaxBytes)
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func quoteShort(b []byte) string {
	const max = 64
	if len(b) > max {
		return fmt.Sprintf("%q… (%d bytes)", b[:max], len(b))
	}
	return fmt.Sprintf("%q", b)
}

func familyOf(a net.Addr) string {
	var ap netip.AddrPort
	if ta, ok := a.(*net.TCPAddr); ok {
		ap = ta.AddrPort()
	} else {
		ap, _ = netip.ParseAddrPort(a.String())
	}
	if !ap.IsValid() {
		return ""
	}
	if ap.Addr().Unmap().Is4() {
		return "IPv4"
	}
	return "IPv6"
}

func familyOfNetwork(network string) string {
	switch {
	case strings.HasSuffix(network, "4"):
		return "IPv4"
	case strings.HasSuffix(network, "6"):
		return "IPv6"
	}
	return network
}
