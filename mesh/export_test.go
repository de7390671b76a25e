package mesh

// SetMaxRowBytes lowers the bound on a peer's row, so that a test's
// endless peer hits it in milliseconds even under the race detector.
func SetMaxRowBytes(m *Mesh, n int) { m.maxRowBytes = n }
