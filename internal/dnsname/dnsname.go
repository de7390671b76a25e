// Package dnsname makes names from reverse DNS safe to print. A PTR record
// is whatever the resolver's operator wrote; without this a hostile
// resolver could put terminal escape sequences or fake log lines into the
// server's log.
package dnsname

import "strings"

// MaxLen is the longest DNS name in presentation form, without the root dot.
const MaxLen = 253

// Sanitize keeps only the characters valid in a host name (letters,
// digits, '-', '_' and '.'), drops leading, doubled and trailing dots (the
// root dot among them) and cuts the result to MaxLen bytes. Dots are
// collapsed before the cut, so padding cannot push the real name out. It
// returns "" when nothing printable is left.
func Sanitize(name string) string {
	b := make([]byte, 0, min(len(name), MaxLen))
	for i := 0; i < len(name) && len(b) < MaxLen; i++ {
		switch c := name[i]; {
		case c == '.':
			if len(b) > 0 && b[len(b)-1] != '.' {
				b = append(b, c)
			}
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_':
			b = append(b, c)
		}
	}
	return strings.TrimSuffix(string(b), ".")
}
