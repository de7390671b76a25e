package mesh

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// matrixCache holds the last matrix, encoded once, so that a page open
// in many browsers (or a flood of requests) costs one gathering and one
// encoding per freshness window, and every requester is served the same
// bytes. A request never waits for a gathering but the very first: the
// others get the last matrix, which says when it was assembled.
type matrixCache struct {
	mu      sync.Mutex
	enc     *encodedMatrix // the last matrix, encoded: all that is kept of it
	at      time.Time      // when it was assembled
	stale   int            // how many of its rows were stale
	running chan struct{}  // closed when the gathering under way ends
}

// fresh is how long a matrix is served again before it is gathered anew.
func (m *Mesh) fresh() time.Duration { return min(m.o.Interval/2, 5*time.Second) }

// Matrix returns the last matrix (see matrixEncoded).
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

// matrixJSON is the last matrix as served (see matrixEncoded).
func (m *Mesh) matrixJSON(ctx context.Context) ([]byte, time.Time, error) {
	e, at, err := m.matrixEncoded(ctx)
	if err != nil {
		return nil, at, err
	}
	return e.json, at, nil
}

// matrixEncoded is the last matrix as served, the same bytes to every
// requester until the next gathering (and gzipped, for those that take
// it), and when it was assembled. A gathering starts when it is older than
// fresh(); only when there is none yet does a request wait for one.
func (m *Mesh) matrixEncoded(ctx context.Context) (*encodedMatrix, time.Time, error) {
	mc := &m.matrix
	mc.mu.Lock()
	if mc.running == nil && (mc.enc == nil || time.Since(mc.at) >= m.fresh()) {
		ch := make(chan struct{})
		mc.running = ch
		go func() {
			// Not the request's context: a browser that goes away does
			// not cancel the gathering the others will be served.
			actx, cancel := context.WithTimeout(context.Background(), m.gatherTime()+m.o.Timeout)
			mc.mu.Lock()
			hint := 0
			if mc.enc != nil {
				hint = len(mc.enc.json)
			}
			mc.mu.Unlock()
			mat, rows := m.assemble(actx)
			e := encodeMatrix(mat, rows, hint)
			cancel()
			mc.mu.Lock()
			mc.enc, mc.at, mc.stale, mc.running = e, time.Now(), rows.stale, nil
			mc.mu.Unlock()
			close(ch)
		}()
	}
	if mc.enc == nil {
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
	return mc.enc, mc.at, nil
}

// encodeMatrix is the matrix as /matrix.json serves it: its head, then
// its rows, each made as it is encoded (matrixRows) into a buffer sized by
// the last encoding (hint), so that encoding costs the bytes served and
// little more, and gzipped once: a 1,000-host matrix is megabytes of JSON
// that gzip makes a tenth of, so that a browser reads it in a tenth of the
// time.
func encodeMatrix(mat *Matrix, rows *matrixRows, hint int) *encodedMatrix {
	failed := func(err error) *encodedMatrix {
		b, _ := json.Marshal(map[string]string{"error": fmt.Sprintf("encoding the matrix: %v", err)})
		return zipped(b)
	}
	head, err := json.Marshal(mat) // {…,"rows":[]}: the rows are made below
	if err != nil || !bytes.HasSuffix(head, []byte("[]}")) {
		return failed(err)
	}
	buf := bytes.NewBuffer(make([]byte, 0, hint+hint/8+len(head)))
	buf.Write(head[:len(head)-2])
	enc := json.NewEncoder(buf)
	for i := range rows.len() {
		if i > 0 {
			buf.WriteByte(',')
		}
		r := rows.row(i)
		if err := enc.Encode(&r); err != nil { // a float that is not a number, at worst
			return failed(err)
		}
	}
	buf.WriteString("]}\n")
	return zipped(buf.Bytes())
}

// encodedMatrix is /matrix.json, as it is and gzipped.
type encodedMatrix struct {
	json, gzip []byte
}

func zipped(b []byte) *encodedMatrix {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed) // a valid level: no error
	_, _ = zw.Write(b)                               // to memory: no error
	_ = zw.Close()
	return &encodedMatrix{json: b, gzip: z.Bytes()}
}
