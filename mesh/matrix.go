package mesh

import (
	"context"
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
	Host      string     `json:"host"`
	Stale     bool       `json:"stale"`
	Error     string     `json:"error,omitempty"` // why the row is stale
	Addresses []string   `json:"addresses"`
	Round     uint64     `json:"round"`
	Peers     int        `json:"peers"`
	Discovery *Discovery `json:"discovery,omitempty"` // absent on a stale row
	Cells     []Cell     `json:"cells"`
}

// matrixCache holds the last matrix, so that a page open in many browsers
// (or a flood of requests) costs one gathering per freshness window, and
// requests arriving during a gathering wait for it rather than start
// another.
type matrixCache struct {
	mu      sync.Mutex
	last    *Matrix
	at      time.Time
	running chan struct{} // closed when the gathering under way ends
}

// fresh is how long a matrix is served again before it is gathered anew.
func (m *Mesh) fresh() time.Duration { return min(m.o.Interval/2, 5*time.Second) }

// Matrix returns the matrix, gathered at most fresh() ago.
func (m *Mesh) Matrix(ctx context.Context) (*Matrix, error) {
	mc := &m.matrix
	for {
		mc.mu.Lock()
		if mc.last != nil && time.Since(mc.at) < m.fresh() {
			mat := mc.last
			mc.mu.Unlock()
			return mat, nil
		}
		if mc.running == nil {
			ch := make(chan struct{})
			mc.running = ch
			go func() {
				// Not the request's context: a browser that goes away does
				// not cancel the gathering the others wait for.
				actx, cancel := context.WithTimeout(context.Background(), m.gatherTime()+m.o.Timeout)
				mat := m.assemble(actx)
				cancel()
				mc.mu.Lock()
				mc.last, mc.at, mc.running = mat, time.Now(), nil
				mc.mu.Unlock()
				close(ch)
			}()
		}
		ch := mc.running
		mc.mu.Unlock()
		select {
		case <-ch:
			mc.mu.Lock()
			mat := mc.last
			mc.mu.Unlock()
			return mat, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
