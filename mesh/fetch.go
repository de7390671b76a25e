package mesh

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/smile-sockets/smile/internal/dnsname"
)

// Bounds on one peer's answer. A row's bytes are bounded by maxRow (some
// 300 bytes a destination: room for 25,000 of them), its cells by what the
// peer set makes possible (rowBounds), its addresses by maxRowAddresses,
// its headers by maxRowHeader; learning whose addresses a peer's are
// reads at most maxOwnersRow bytes of it.
const (
	defaultMaxRow   = 8 << 20
	maxRowHeader    = 8 << 10
	maxRowAddresses = 256
	maxOwnersRow    = 64 << 10
)

// rowClient fetches peers' rows. It keeps a bounded number of idle
// connections, briefly: at a thousand peers, one kept per peer for a
// minute was a thousand descriptors and goroutines held between
// gatherings, where a fresh connection on the same network costs less.
// It never follows a redirect: a peer's answer is its row or nothing,
// never a URL of its choosing that every node would then fetch.
var rowClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport: &http.Transport{
		Proxy:                  nil, // peers are reached directly, never through a proxy from the environment
		DialContext:            (&net.Dialer{KeepAlive: -1}).DialContext,
		MaxIdleConnsPerHost:    1,
		MaxIdleConns:           fetchConcurrency,
		IdleConnTimeout:        10 * time.Second,
		ResponseHeaderTimeout:  0, // the request's context bounds it
		MaxResponseHeaderBytes: maxRowHeader,
		DisableCompression:     true,
	},
}

// rowURL is where the peer at a serves its row: http://<a's IP>:<this
// node's -http port>/mesh.json, built by net/url so that an IPv6 zone is
// escaped; shown is the same URL as a reader writes it (zone unescaped).
func rowURL(a netip.Addr, port int, cells bool) (u *url.URL, shown string) {
	u = &url.URL{Scheme: "http", Host: net.JoinHostPort(a.String(), strconv.Itoa(port)), Path: "/mesh.json",
		RawQuery: "form=compact"} // a peer that does not know the form answers its full row
	if !cells {
		u.RawQuery = "destinations=none"
	}
	return u, "http://" + u.Host + u.Path
}

// rowLimits bound the row one fetch may bring: bytes and cells. all
// false: only the row's head (node, addresses) is wanted; with all, the
// row's cells are kept in table, the gathering's.
type rowLimits struct {
	bytes  int
	cells  int
	all    bool
	table  *gatherTable
	budget *rowBudget // with all: charged the bytes read; nil: none
}

// fetchRow gets the row a peer serves at /mesh.json on this node's -http
// port (without its cells unless lim.all), within -mesh-timeout and lim,
// and checks it is one; size is the bytes read.
func (m *Mesh) fetchRow(ctx context.Context, a netip.AddrPort, lim rowLimits) (row *Row, size int, err error) {
	u, shown := rowURL(a.Addr(), m.o.HTTPPort, lim.all)
	ctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", shown, err)
	}
	resp, err := rowClient.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("no row from %s: %s", shown, fetchReason(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, 0, fmt.Errorf("no row from %s: redirect (HTTP %d), not followed", shown, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, 0, fmt.Errorf("no row from %s: HTTP %d", shown, resp.StatusCode)
	}
	body := &boundedReader{r: resp.Body, left: lim.bytes, budget: lim.budget}
	row, err = decodeRow(body, lim)
	size = lim.bytes - body.left
	switch {
	case errors.As(err, new(errOverBudget)):
		return nil, size, err
	case errors.Is(err, errRowTooLarge):
		return nil, size, fmt.Errorf("bad row from %s: too large: more than %d bytes", shown, lim.bytes)
	case errors.Is(err, errRowTooManyCells):
		return nil, size, fmt.Errorf("bad row from %s: more than %d cells, more than the peer set makes possible", shown, lim.cells)
	case errors.As(err, new(notRow)):
		return nil, size, fmt.Errorf("bad row from %s: %w", shown, err)
	case err != nil:
		return nil, size, fmt.Errorf("no row from %s: %s after %d bytes", shown, fetchReason(err), size)
	}
	return row, size, nil
}

var (
	errRowTooLarge     = errors.New("row too large")
	errRowTooManyCells = errors.New("too many cells")
)

// notRow is why an answer is not a row, in words of this node's own.
type notRow string

func (e notRow) Error() string { return string(e) }

// boundedReader reads at most left bytes of r, then fails with
// errRowTooLarge, and charges budget (when there is one) what it reads,
// failing with errOverBudget when that is spent.
type boundedReader struct {
	r      io.Reader
	left   int
	budget *rowBudget
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errRowTooLarge
	}
	if len(p) > b.left {
		p = p[:b.left]
	}
	if b.budget != nil && !b.budget.charge(int64(len(p))) {
		return 0, errOverBudget(b.budget.total)
	}
	n, err := b.r.Read(p)
	b.left -= n
	if b.budget != nil {
		b.budget.charge(int64(n - len(p))) // what was not read, given back
	}
	return n, err
}

// decodeRow reads a row as a stream: the destinations one cell at a time,
// no more than lim.cells of them, so that a row of millions of tiny cells
// costs nothing beyond its bound; without lim.all, it stops as soon as the
// row's head (schema, type, node, addresses) is read and skips any
// destinations a peer sent regardless. With lim.all, the row's cells, in
// either form (a compact row's are bounded by its bytes and by lim.cells
// columns), are kept as its grid. Nothing of what the peer sent is echoed
// in an error but the offset where it went wrong.
func decodeRow(r io.Reader, lim rowLimits) (*Row, error) {
	dec := json.NewDecoder(r)
	bad := func(err error) error {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return notRow(fmt.Sprintf("not JSON (at byte %d)", dec.InputOffset()))
		case errors.As(err, &te):
			return notRow(fmt.Sprintf("a JSON %s where %s wants a %s (at byte %d)", te.Value, short(te.Field), te.Type, dec.InputOffset()))
		}
		return err // the connection's or the bound's
	}
	if t, err := dec.Token(); err != nil {
		return nil, bad(err)
	} else if t != json.Delim('{') {
		return nil, notRow("not a JSON object")
	}
	head := bytes.NewBufferString("{")
	var cf compactFields
	need := map[string]bool{"schema_version": true, "type": true, "node": true, "addresses": true}
	cells := []Cell{}
	for dec.More() && (lim.all || len(need) > 0) {
		t, err := dec.Token()
		if err != nil {
			return nil, bad(err)
		}
		key, _ := t.(string)
		if key == "destinations" && lim.all {
			if cells, err = decodeCells(dec, lim.cells); err != nil {
				return nil, bad(err)
			}
			continue
		}
		if f := cf.field(key); f != nil && lim.all {
			if err := cf.decode(dec, key, f, lim.cells); err != nil {
				return nil, bad(err)
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, bad(err)
		}
		if key == "destinations" {
			continue // not wanted: skipped, not kept
		}
		delete(need, key)
		if head.Len() > 1 {
			head.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		head.Write(k)
		head.WriteByte(':')
		head.Write(raw)
	}
	head.WriteByte('}')
	var row Row
	if err := json.Unmarshal(head.Bytes(), &row); err != nil {
		return nil, bad(err)
	}
	// The head is checked before anything of the row goes into the
	// gathering's table: a refused row keeps nothing, so it must add
	// nothing there either.
	switch {
	case row.SchemaVersion != 1 || row.Type != "mesh_node":
		return nil, notRow(fmt.Sprintf("schema_version %d, type %q: want 1, \"mesh_node\"", row.SchemaVersion, short(dnsname.Sanitize(row.Type))))
	case row.Node == "" || dnsname.Sanitize(row.Node) != row.Node:
		return nil, notRow(fmt.Sprintf("node name %q is not a host name", short(dnsname.Sanitize(row.Node))))
	case len(row.Addresses) > maxRowAddresses:
		return nil, notRow(fmt.Sprintf("more than %d addresses", maxRowAddresses))
	}
	if !lim.all {
		row.Destinations = cells
		return &row, nil
	}
	// The cells, in either form, as a gathering keeps them (compact.go),
	// and of the head what the matrix shows: -mesh, which may list every
	// node, is not.
	var err error
	if cf.Form == "" {
		row.grid = lim.table.gridOf(cells)
	} else if row.grid, err = cf.grid(lim.cells, lim.table); err != nil {
		return nil, err
	}
	row.Mesh = ""
	return &row, nil
}

// decodeList reads the JSON list name one element at a time, failing with over
// before it decodes element max+1: a list of empty objects, three bytes
// each, would otherwise make a 200-byte element of every three bytes read
// before its length could be checked.
func decodeList[T any](dec *json.Decoder, name string, max int, over error) ([]T, error) {
	t, err := dec.Token()
	switch {
	case err != nil:
		return nil, err
	case t == nil:
		return nil, nil
	case t != json.Delim('['):
		return nil, notRow(name + " is not a list")
	}
	list := []T{}
	for dec.More() {
		if len(list) >= max {
			return list, over
		}
		var e T
		if err := dec.Decode(&e); err != nil {
			return list, err
		}
		list = append(list, e)
	}
	_, err = dec.Token() // ']'
	return list, err
}

// decodeCells reads the destinations list one cell at a time, failing
// past max cells.
func decodeCells(dec *json.Decoder, max int) ([]Cell, error) {
	cells, err := decodeList[Cell](dec, "destinations", max, errRowTooManyCells)
	// A row's cells repeat their words (family, class, the same error
	// for every address behind one fault): each is kept once.
	words := map[string]string{}
	once := func(s *string) {
		if w, ok := words[*s]; ok {
			*s = w
		} else if len(words) < max {
			words[*s] = *s
		}
	}
	for i := range cells {
		once(&cells[i].Family)
		once(&cells[i].Class)
		once(&cells[i].Error)
	}
	return cells, err
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
	case strings.Contains(err.Error(), "server response headers exceeded"):
		return fmt.Sprintf("response headers larger than %d bytes", maxRowHeader)
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

// short cuts what a peer chose (a type, a name) to a length that tells
// what it was without repeating it.
func short(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
