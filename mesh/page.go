package mesh

import (
	_ "embed"
	"net/http"
)

// page is the matrix page: plain HTML and JavaScript, in the binary, that
// draws /matrix.json and fetches it again every few seconds. No CDN and no
// framework: it works on a network with no way out.
//
//go:embed page.html
var page []byte

func servePage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(page)
}
