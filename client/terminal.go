package client

import (
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// isTerminal reports whether w is a terminal, where bytes from the server
// must not reach raw.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminalFd(f.Fd())
}

// escapeControls makes server bytes safe for a terminal: control
// characters other than newline and tab (ESC sequences, carriage returns,
// the bell), DEL, C1 controls and bytes that are not UTF-8 are shown as Go
// escapes (\x1b, \r, \u009b), so a hostile greeting cannot move the
// cursor, retitle the window or hide text. Printable text, UTF-8 included,
// passes unchanged.
func escapeControls(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size == 1:
			out = fmt.Appendf(out, `\x%02x`, b[0])
		case r == '\n' || r == '\t':
			out = append(out, b[0])
		case r == '\r':
			out = append(out, `\r`...)
		case r < 0x20 || r == 0x7f:
			out = fmt.Appendf(out, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f:
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}
