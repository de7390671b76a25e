package mesh

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Matrix is every row the serving node could gather, as /matrix.json
// serves it and the page draws it: its own, each peer's as the peer
// serves it at /mesh.json, and a stale row for each peer that did not
// answer with a row, saying why.
type Matrix struct {
	SchemaVersion int         `json:"schema_version"` // 1
	Type          string      `json:"type"`           // "mesh_matrix"
	Node          string      `json:"node"`           // the node that assembled it
	TimeUnixMS    float64     `json:"time_unix_ms"`
	AssembleMS    float64     `json:"assemble_ms"` // how long fetching the rows took
	Rows          []MatrixRow `json:"rows"`
}

// MatrixRow is one source host's row: the cells of its /mesh.json, each
// destination named by the node that announces the address.
type MatrixRow struct {
	Host      string   `json:"host"`
	Stale     bool     `json:"stale"`
	Error     string   `json:"error,omitempty"` // why the row is stale
	Addresses []string `json:"addresses"`
	Round     uint64   `json:"round"`
	// RoundUnixMS is when the row's last round ended, as its node said:
	// a node whose rounds stopped keeps serving a row, which shows its age.
	RoundUnixMS float64    `json:"round_unix_ms,omitempty"`
	Peers       int        `json:"peers"`
	Discovery   *Discovery `json:"discovery,omitempty"` // absent on a stale row
	Cells       []Cell     `json:"cells"`
}

// matrixCache holds the last matrix, encoded once, so that a page open
// in many browsers (or a flood of requests) costs one gathering and one
// encoding per freshness window, and every requester is served the same
// bytes. A request never waits for a gathering but the very first: the
// others get the last matrix, which says when it was assembled.
type matrixCache struct {
	mu      sync.Mutex
	json    []byte        // the last matrix, encoded: all that is kept of it
	at      time.Time     // when it was assembled
	stale   int           // how many of its rows were stale
	running chan struct{} // closed when the gathering under way ends
}

// fresh is how long a matrix is served again before it is gathered anew.
func (m *Mesh) fresh() time.Duration { return min(m.o.Interval/2, 5*time.Second) }

// Matrix returns the last matrix (see matrixJSON).
func (m *Mesh) Matrix(ctx context.Context) (*Matrix, error) {
	b, _, err := m.matrixJSON(ctx)
	if err != nil {
		return nil, err
	}
	var mat Matrix
	if err := json.Unmarshal(b, &mat); err != nil {
		return nil, fmt.Errorf("decoding the matrix: %w", err)
	}
	return &mat, nil
}

// matrixJSON is the last matrix as served, the same bytes to every
// requester until the next gathering, and when it was assembled. A
// gathering starts when it is older than fresh(); only when there is none
// yet does a request wait for one.
func (m *Mesh) matrixJSON(ctx context.Context) ([]byte, time.Time, error) {
	mc := &m.matrix
	mc.mu.Lock()
	if mc.running == nil && (mc.json == nil || time.Since(mc.at) >= m.fresh()) {
		ch := make(chan struct{})
		mc.running = ch
		go func() {
			// Not the request's context: a browser that goes away does
			// not cancel the gathering the others will be served.
			actx, cancel := context.WithTimeout(context.Background(), m.gatherTime()+m.o.Timeout)
			mc.mu.Lock()
			hint := len(mc.json)
			mc.mu.Unlock()
			mat := m.assemble(actx)
			stale := 0
			for _, r := range mat.Rows {
				if r.Stale {
					stale++
				}
			}
			b := encodeMatrix(mat, hint)
			cancel()
			mc.mu.Lock()
			mc.json, mc.at, mc.stale, mc.running = b, time.Now(), stale, nil
			mc.mu.Unlock()
			close(ch)
		}()
	}
	if mc.json == nil {
		ch := mc.running
		mc.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, time.Time{}, ctx.Err()
		}
		mc.mu.Lock()
	}
	defer mc.mu.Unlock()
	return mc.json, mc.at, nil
}

// encodeMatrix is the matrix as /matrix.json serves it, encoded a row at a
// time into a buffer sized by the last one (hint), so that encoding costs
// the bytes served and little more.
func encodeMatrix(mat *Matrix, hint int) []byte {
	rows := mat.Rows
	mat.Rows = []MatrixRow{}
	head, err := json.Marshal(mat) // {…,"rows":[]}
	mat.Rows = rows
	if err != nil || !bytes.HasSuffix(head, []byte("[]}")) {
		b, _ := json.Marshal(map[string]string{"error": fmt.Sprintf("encoding the matrix: %v", err)})
		return b
	}
	buf := bytes.NewBuffer(make([]byte, 0, hint+hint/8+len(head)))
	buf.Write(head[:len(head)-2])
	enc := json.NewEncoder(buf)
	for i := range rows {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(&rows[i]); err != nil { // a float that is not a number, at worst
			b, _ := json.Marshal(map[string]string{"error": fmt.Sprintf("encoding the matrix: %v", err)})
			return b
		}
	}
	buf.WriteString("]}\n")
	return buf.Bytes()
}
