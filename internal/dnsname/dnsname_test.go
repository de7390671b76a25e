package dnsname

import (
	"strings"
	"testing"
)

func TestSanitize(t *testing.T) {
	label := strings.Repeat("a", 63)
	cases := []struct{ in, want string }{
		{"host.example.", "host.example"},
		{"Host-1.Example_x.", "Host-1.Example_x"},
		{"evil\x1b[31m\n.example", "evil31m.example"},
		{"\x1b]0;title\x07host", "0titlehost"},
		{"a..b", "a.b"},
		{"a...b", "a.b"},
		{"...", ""},
		{".", ""},
		{"", ""},
		{"\x00\x01\x02", ""},
		{"ünïcode.example", "ncode.example"},
		{"a\\.b", "a.b"},
		{"sp ace.example", "space.example"},
		{"x" + strings.Repeat(".", 300) + "y", "x.y"},
		{strings.Repeat(label+".", 5), strings.Join([]string{label, label, label, strings.Repeat("a", 61)}, ".")},
		{strings.Repeat("b", 300), strings.Repeat("b", MaxLen)},
	}
	for _, c := range cases {
		if got := Sanitize(c.in); got != c.want {
			t.Errorf("Sanitize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func allowed(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// FuzzSanitize: whatever a resolver sends, the result is only name
// characters, at most MaxLen bytes, without leading, trailing or doubled
// dots, and sanitizing it again changes nothing.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"host.example.", "evil\x1b[31m\n.example", "..a..", "\xff\xfe", "a\\.b\\032c", strings.Repeat("x.", 200), strings.Repeat("\x00", 10), "-_-.-_-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Sanitize(in)
		if len(out) > MaxLen {
			t.Fatalf("Sanitize(%q) is %d bytes", in, len(out))
		}
		for i := 0; i < len(out); i++ {
			if !allowed(out[i]) {
				t.Fatalf("Sanitize(%q) = %q holds %q", in, out, out[i])
			}
		}
		if strings.HasPrefix(out, ".") || strings.HasSuffix(out, ".") || strings.Contains(out, "..") {
			t.Fatalf("Sanitize(%q) = %q: stray dots", in, out)
		}
		if again := Sanitize(out); again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
	})
}
