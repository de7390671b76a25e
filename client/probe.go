package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/smile-sockets/smile/internal/netaddr"
	"github.com/smile-sockets/smile/internal/resolver"
)

// prober runs probes: connect, read everything up to -max-bytes, close.
type prober struct {
	cfg  *Config
	res  *net.Resolver
	vmu  sync.Mutex
	vout io.Writer // -v output, nil when quiet
}

func newProber(cfg *Config, stderr io.Writer) *prober {
	p := &prober{cfg: cfg, res: resolver.New(cfg.Resolver)}
	if cfg.Verbose {
		p.vout = stderr
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
	target   string // as asked: host:port
	addr     string // the address connected to, or the one address that failed
	family   string // IPv4 or IPv6, when known
	connect  time.Duration
	total    time.Duration
	data     []byte
	class    string // "" when the probe succeeded
	err      error
	phase    string    // where it failed: resolve, connect, read, expect
	attempts []attempt // every address dialled, in order
}

func (r *result) ok() bool { return r.class == "" }

// message is the one-line error for a failed probe: target, address and
// cause class, e.g. "can't connect to 172.30.0.10:7890: refused". When
// several addresses failed it names each with its own class; once
// connected, it says so: "connected to …, but no greeting: timeout".
func (r *result) message() string {
	where := r.target
	if r.addr != "" && r.addr != r.target {
		where += " (" + r.addr + ")"
	}
	switch r.phase {
	case "resolve":
		host, _, _ := net.SplitHostPort(r.target)
		return ResolveError(host, r.err)
	case "connect":
		if len(r.attempts) > 1 {
			return fmt.Sprintf("can't connect to %s: %s", r.target, attemptsText(r.attempts))
		}
		return fmt.Sprintf("can't connect to %s: %s", where, classText(r.class, r.err))
	case "expect":
		return fmt.Sprintf("unexpected greeting from %s: %s", where, classText(r.class, r.err))
	}
	switch {
	case r.class == classTooLarge:
		return fmt.Sprintf("can't read the greeting from %s: %s", where, classText(r.class, r.err))
	case len(r.data) > 0:
		return fmt.Sprintf("connected to %s, but the greeting broke off after %d bytes: %s", where, len(r.data), classText(r.class, r.err))
	}
	return fmt.Sprintf("connected to %s, but no greeting: %s", where, classText(r.class, r.err))
}

// probe connects to target over network and reads the whole greeting into
// buf (reused across probes by the caller; nil allocates).
func (p *prober) probe(ctx context.Context, target, network string, buf []byte) result {
	r := result{target: target}
	start := time.Now()
	conn, attempts, err := p.dial(ctx, target, network, start)
	r.connect, r.attempts = time.Since(start), attempts
	if len(attempts) > 0 {
		r.family = attempts[0].family()
		if len(attempts) == 1 {
			r.addr = attempts[0].target()
		}
	}
	if err != nil {
		r.err, r.class, r.phase = err, classify(err), "connect"
		if len(attempts) == 0 {
			r.phase = "resolve"
			if r.class != classDNS {
				r.phase = "connect"
			}
		}
		r.total = time.Since(start)
		return r
	}
	r.addr, r.family = conn.RemoteAddr().String(), familyOf(conn.RemoteAddr())
	deadline := time.Now().Add(p.cfg.ReadTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d // a caller's bound on the whole probe (the mesh's -mesh-timeout)
	}
	data, err := p.readAll(conn, buf, deadline)
	_ = conn.Close()
	r.total = time.Since(start)
	r.data = data
	switch {
	case err != nil:
		r.err, r.class, r.phase = err, classify(err), "read"
		if p.vout != nil {
			p.say("%s %s after %d bytes: %s", since(start), r.addr, len(data), classText(r.class, err))
		}
	case len(data) == 0:
		r.err, r.class, r.phase = errEmpty, classEmpty, "read"
	case p.cfg.HasExpect && string(data) != p.cfg.Expect:
		r.err = fmt.Errorf("got %s, want %s", quoteShort(data), quoteShort([]byte(p.cfg.Expect)))
		r.class, r.phase = classMismatch, "expect"
	}
	return r
}

// errEmpty is the error of a server that closed without sending a byte:
// what a proxy in front of a dead backend (docker-proxy, a load balancer)
// looks like, never a greeting.
var errEmpty = errors.New("the server closed the connection without sending a byte")

var errTooLarge = errors.New("too large")

// readAll reads until EOF, before deadline and within -max-bytes.
func (p *prober) readAll(conn net.Conn, buf []byte, deadline time.Time) ([]byte, error) {
	_ = conn.SetReadDeadline(deadline)
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
	ap := netaddr.AddrPortOf(a)
	if !ap.IsValid() {
		return ""
	}
	if ap.Addr().Is4() {
		return "IPv4"
	}
	return "IPv6"
}
