package mesh

import "context"

// SetMaxRowBytes lowers the bound on a peer's row, so that a test's
// endless peer hits it in milliseconds even under the race detector.
func SetMaxRowBytes(m *Mesh, n int) { m.maxRowBytes = n }

// SetMatrixBudget sets the bytes of rows a gathering may hold, as a
// memory limit a quarter of it would, without limiting the test's heap.
func SetMatrixBudget(m *Mesh, n int64) { m.budgetBytes = n }

// Gather gathers m's matrix now, as a request past the freshness window
// does, and encodes it with the last one's size as hint: /matrix.json's
// bytes.
func Gather(ctx context.Context, m *Mesh, hint int) []byte {
	mat, rows := m.assemble(ctx)
	return encodeMatrix(mat, rows, hint).json
}
