// Package dnsname makes names from reverse DNS safe to print. A PTR record
// is whatever the resolver's operator wrote; without this a hostile
// resolver could put terminal escape sequences or fake log lines into the
// server's log.
package dnsname

import "strings"

// MaxLen is the longest DNS name in presentation form, without the root dot.
const MaxLen = 253

// Sanitize keeps only the characters valid in a host name (letters,
// digits, '-', '_' and '.'), drops the trailing root dot and cuts the
// result to MaxLen bytes. It returns "" when nothing printable is left.
func Sanitize(name string) string {
	var b strings.Builder
	for i := 0; i < len(name) && b.Len() < MaxLen; i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		}
	}
	out := strings.Trim(b.String(), ".")
	for strings.Contains(out, "..") {
		out = strings.ReplaceAll(out, "..", ".")
	}
	return out
}
