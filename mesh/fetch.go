package mesh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/smile-sockets/smile/internal/dnsname"
)

// defaultMaxRow bounds the size of one row (some 300 bytes a
// destination: room for 25,000 of them).
const defaultMaxRow = 8 << 20

// rowClient fetches peers' rows; the transport keeps a connection per
// peer for the next gathering.
var rowClient = &http.Client{Transport: &http.Transport{
	Proxy:                 nil, // peers are reached directly, never through a proxy from the environment
	DialContext:           (&net.Dialer{KeepAlive: -1}).DialContext,
	MaxIdleConnsPerHost:   1,
	IdleConnTimeout:       time.Minute,
	ResponseHeaderTimeout: 0, // the request's context bounds it
	DisableCompression:    true,
}}

// fetchRow gets the row a peer serves at /mesh.json on this node's -http
// port (without its cells unless cells), within -mesh-timeout and maxRow
// bytes, and checks it is one; size is the bytes read.
func (m *Mesh) fetchRow(ctx context.Context, a netip.AddrPort, cells bool) (row *Row, size int, err error) {
	row, body, err := m.fetchRowBody(ctx, a, cells)
	return row, len(body), err
}

func (m *Mesh) fetchRowBody(ctx context.Context, a netip.AddrPort, cells bool) (*Row, []byte, error) {
	url := "http://" + netip.AddrPortFrom(a.Addr(), uint16(m.o.HTTPPort)).String() + "/mesh.json"
	get := url
	if !cells {
		get += "?destinations=none"
	}
	ctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, get, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", url, err)
	}
	resp, err := rowClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("no row from %s: %s", url, fetchReason(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("no row from %s: HTTP %d", url, resp.StatusCode)
	}
	limit := m.maxRow()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, body, fmt.Errorf("no row from %s: %s after %d bytes", url, fetchReason(err), len(body))
	}
	if len(body) > limit {
		return nil, body, fmt.Errorf("bad row from %s: too large: more than %d bytes", url, limit)
	}
	var row Row
	if err := json.Unmarshal(body, &row); err != nil {
		return nil, body, fmt.Errorf("bad row from %s: not JSON: %s", url, oneLine(err.Error()))
	}
	switch {
	case row.SchemaVersion != 1 || row.Type != "mesh_node":
		return nil, body, fmt.Errorf("bad row from %s: schema_version %d, type %q: want 1, \"mesh_node\"", url, row.SchemaVersion, dnsname.Sanitize(row.Type))
	case row.Node == "" || dnsname.Sanitize(row.Node) != row.Node:
		return nil, body, fmt.Errorf("bad row from %s: node name %q is not a host name", url, dnsname.Sanitize(row.Node))
	}
	return &row, body, nil
}

func (m *Mesh) maxRow() int {
	if m.maxRowBytes > 0 {
		return m.maxRowBytes
	}
	return defaultMaxRow
}

// fetchReason is why a fetch failed, in smile-client's words where it has
// them.
func fetchReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(err) {
		err = u
	}
	return oneLine(err.Error())
}

// oneLine keeps a message on one line and short, whatever a peer sent.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
