package netaddr

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func TestParsePort(t *testing.T) {
	cases := []struct {
		in   string
		want int
		err  string
	}{
		{"1", 1, ""},
		{"7890", 7890, ""},
		{"65535", 65535, ""},
		{"08080", 8080, ""},
		{"", 0, "empty port"},
		{"0", 0, `bad port "0": must be 1-65535`},
		{"65536", 0, `bad port "65536": must be 1-65535`},
		{"99999999999999999999", 0, `bad port "99999999999999999999": must be 1-65535`},
		{"-1", 0, `bad port "-1": not a number`},
		{"+80", 0, `bad port "+80": not a number`},
		{" 80", 0, `bad port " 80": not a number`},
		{"８０", 0, `bad port "８０": not a number`},
		{"http", 0, `bad port "http": not a number`},
	}
	for _, c := range cases {
		got, err := ParsePort(c.in)
		if wantErr(t, fmt.Sprintf("ParsePort(%q)", c.in), err, c.err) {
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParsePort(%q) = %d, %v, want %d", c.in, got, err, c.want)
		}
	}
}

func TestParseHost(t *testing.T) {
	cases := []struct {
		in   string
		kind Kind
		addr string
		text string
		err  string
	}{
		{"", Wildcard, "", "", ""},
		{"::", Wildcard, "::", "::", ""},
		{"0::0", Wildcard, "::", "::", ""},
		{"0:0:0:0:0:0:0:0", Wildcard, "::", "::", ""},
		{"0.0.0.0", AnyIPv4, "0.0.0.0", "0.0.0.0", ""},
		{"::ffff:0.0.0.0", AnyIPv4, "0.0.0.0", "0.0.0.0", ""},
		{"127.0.0.1", IPv4, "127.0.0.1", "127.0.0.1", ""},
		{"::ffff:10.1.2.3", IPv4, "10.1.2.3", "10.1.2.3", ""},
		{"::1", IPv6, "::1", "::1", ""},
		{"fe80::1%eth0", IPv6, "fe80::1%eth0", "fe80::1%eth0", ""},
		{"localhost", Name, "", "localhost", ""},
		{"smile.example.", Name, "", "smile.example.", ""},
		{"_srv.host-1", Name, "", "_srv.host-1", ""},
		{"1.2.3.4.5", 0, "", "", `bad IPv4 address "1.2.3.4.5"`},
		{"300.1.1.1", 0, "", "", `bad IPv4 address "300.1.1.1"`},
		{"01.2.3.4", 0, "", "", `bad IPv4 address "01.2.3.4"`},
		{"::%eth0", 0, "", "", `bad IPv6 address "::%eth0": a zone on the unspecified address`},
		{"1::2::3", 0, "", "", `bad IPv6 address "1::2::3"`},
		{"-lead.example", 0, "", "", `bad host name "-lead.example": a label starts or ends with '-'`},
		{"a..b", 0, "", "", `bad host name "a..b": empty or over-long label`},
		{strings.Repeat("a", 64), 0, "", "", `bad host name "` + strings.Repeat("a", 64) + `": empty or over-long label`},
		{"sp ace", 0, "", "", `bad host name "sp ace": character ' ' not allowed`},
		{".", 0, "", "", `bad IPv4 address "."`},
		{"a.", Name, "", "a.", ""},
	}
	for _, c := range cases {
		h, err := ParseHost(c.in)
		if wantErr(t, fmt.Sprintf("ParseHost(%q)", c.in), err, c.err) {
			continue
		}
		if err != nil {
			t.Errorf("ParseHost(%q): %v", c.in, err)
			continue
		}
		addr := ""
		if h.Addr.IsValid() {
			addr = h.Addr.String()
		}
		if h.Kind != c.kind || addr != c.addr || h.Text != c.text {
			t.Errorf("ParseHost(%q) = {%v %q %q}, want {%v %q %q}", c.in, h.Kind, addr, h.Text, c.kind, c.addr, c.text)
		}
	}
}

func TestParseListen(t *testing.T) {
	cases := []struct {
		in, str string
		kind    Kind
		err     string
	}{
		{":7890", ":7890", Wildcard, ""},
		{"[::]:80", "[::]:80", Wildcard, ""},
		{"0.0.0.0:80", "0.0.0.0:80", AnyIPv4, ""},
		{"127.0.0.1:80", "127.0.0.1:80", IPv4, ""},
		{"[::1]:80", "[::1]:80", IPv6, ""},
		{"[fe80::1%eth0]:80", "[fe80::1%eth0]:80", IPv6, ""},
		{"localhost:80", "localhost:80", Name, ""},
		{"[::ffff:127.0.0.1]:80", "127.0.0.1:80", IPv4, ""},
		{"", "", 0, `bad listen address "": missing port`},
		{":", "", 0, `bad listen address ":": missing port`},
		{"[::1]", "", 0, `bad listen address "[::1]": missing port`},
		{"[::1", "", 0, `bad listen address "[::1": missing ']'`},
		{"::1]:80", "", 0, `bad listen address "::1]:80": unbalanced brackets`},
		{"::1:80", "", 0, `bad listen address "::1:80": IPv6 address with a port needs brackets, as in [::1]:7890`},
		{"[127.0.0.1]:80", "", 0, `bad listen address "[127.0.0.1]:80": "127.0.0.1" in brackets is not an IPv6 address`},
		{"[::1]x", "", 0, `bad listen address "[::1]x": unexpected "x" after ']'`},
		{"host:0", "", 0, `bad listen address "host:0": bad port "0": must be 1-65535`},
		{"host:http", "", 0, `bad listen address "host:http": bad port "http": not a number`},
	}
	for _, c := range cases {
		hp, err := ParseListen(c.in)
		if wantErr(t, fmt.Sprintf("ParseListen(%q)", c.in), err, c.err) {
			continue
		}
		if err != nil || hp.String() != c.str || hp.Kind != c.kind {
			t.Errorf("ParseListen(%q) = %q kind %v, %v; want %q kind %v", c.in, hp, hp.Kind, err, c.str, c.kind)
		}
	}
}

func TestParseTarget(t *testing.T) {
	cases := []struct {
		args []string
		str  string
		err  string
	}{
		{nil, "localhost:7890", ""},
		{[]string{"127.0.0.1"}, "127.0.0.1:7890", ""},
		{[]string{"127.0.0.1", "80"}, "127.0.0.1:80", ""},
		{[]string{"127.0.0.1:80"}, "127.0.0.1:80", ""},
		{[]string{"::1"}, "[::1]:7890", ""},
		{[]string{"::1", "80"}, "[::1]:80", ""},
		{[]string{"[::1]"}, "[::1]:7890", ""},
		{[]string{"[::1]", "80"}, "[::1]:80", ""},
		{[]string{"[::1]:80"}, "[::1]:80", ""},
		{[]string{"fe80::1%eth0"}, "[fe80::1%eth0]:7890", ""},
		{[]string{"smile.example:80"}, "smile.example:80", ""},
		{[]string{""}, "", "empty host"},
		{[]string{"a", "1", "2"}, "", `unexpected argument "2"`},
		{[]string{":80"}, "", `bad address ":80": empty host`},
		{[]string{"[::1]:80", "81"}, "", `port given twice: in "[::1]:80" and as "81"`},
		{[]string{"host:80", "81"}, "", `port given twice: in "host:80" and as "81"`},
		{[]string{"host:"}, "", `bad address "host:": empty port`},
		{[]string{"0.0.0.0"}, "", `bad address "0.0.0.0": a wildcard address cannot be dialled`},
		{[]string{"::"}, "", `bad address "::": a wildcard address cannot be dialled`},
		{[]string{"0::0"}, "", `bad address "0::0": a wildcard address cannot be dialled`},
		{[]string{"[0:0::0]:80"}, "", `bad address "0:0::0": a wildcard address cannot be dialled`},
		{[]string{"[::ffff:0.0.0.0]"}, "", `bad address "::ffff:0.0.0.0": a wildcard address cannot be dialled`},
		{[]string{"host", "0"}, "", `bad port "0": must be 1-65535`},
		{[]string{"[]:80"}, "", `bad address "[]:80": "" in brackets is not an IPv6 address`},
	}
	for _, c := range cases {
		hp, err := ParseTarget(c.args, "localhost", DefaultPort)
		if wantErr(t, fmt.Sprintf("ParseTarget(%q)", c.args), err, c.err) {
			continue
		}
		if err != nil || hp.String() != c.str {
			t.Errorf("ParseTarget(%q) = %q, %v; want %q", c.args, hp, err, c.str)
		}
	}
}

func TestCheckNameLengths(t *testing.T) {
	label := strings.Repeat("a", 63)
	name253 := strings.Join([]string{label, label, label, strings.Repeat("b", 61)}, ".")
	if err := CheckName(name253); err != nil {
		t.Errorf("253 bytes: %v", err)
	}
	if err := CheckName(name253 + "."); err != nil {
		t.Errorf("253 bytes and the root dot: %v", err)
	}
	if err := CheckName(name253 + "b"); err == nil {
		t.Error("254 bytes accepted")
	}
}

// FuzzParsePort: never panics; a success is 1-65535 and its decimal form
// parses to the same port.
func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"", "0", "1", "80", "7890", "65535", "65536", "-1", "+1", "0080", "1e3", " 1", "٣", "99999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParsePort(s)
		if err != nil {
			return
		}
		if n < 1 || n > 65535 {
			t.Fatalf("ParsePort(%q) = %d", s, n)
		}
		if m, err := ParsePort(strconv.Itoa(n)); err != nil || m != n {
			t.Fatalf("round trip of %q: %d, %v", s, m, err)
		}
	})
}

// wantErr reports whether a case expects an error, and fails the test
// unless err is exactly that one.
func wantErr(t *testing.T, call string, err error, want string) bool {
	t.Helper()
	if want == "" {
		return false
	}
	if err == nil || err.Error() != want {
		t.Errorf("%s error = %v, want %q", call, err, want)
	}
	return true
}

// checkRoundTrip: what String renders parses back to the same value.
func checkRoundTrip(t *testing.T, in string, hp HostPort, parse func(string) (HostPort, error)) {
	t.Helper()
	if hp.Port < 1 || hp.Port > 65535 {
		t.Fatalf("%q: port %d", in, hp.Port)
	}
	s := hp.String()
	again, err := parse(s)
	if err != nil {
		t.Fatalf("%q parsed to %q, which does not parse: %v", in, s, err)
	}
	if again != hp {
		t.Fatalf("%q parsed to %#v, rendered %q, parsed again to %#v", in, hp, s, again)
	}
	if hp.Kind != Name && hp.Kind != Wildcard && !hp.Addr.IsValid() {
		t.Fatalf("%q: kind %v without an address", in, hp.Kind)
	}
	if hp.Kind == IPv4 && !hp.Addr.Is4() || hp.Kind == IPv6 && (!hp.Addr.Is6() || hp.Addr.Is4In6()) {
		t.Fatalf("%q: kind %v with address %v", in, hp.Kind, hp.Addr)
	}
}

// FuzzParseListen: never panics; a success round-trips through String.
func FuzzParseListen(f *testing.F) {
	for _, s := range []string{":7890", "[::]:80", "0.0.0.0:80", "127.0.0.1:80", "[::1]:80", "[fe80::1%eth0]:80",
		"localhost:80", "host.:80", "[::ffff:1.2.3.4]:80", "[::1", "::1]:80", "::1:80", "[::1]x", ":", "", "[]:80", "0::0:1", "[0::0]:9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hp, err := ParseListen(s)
		if err != nil {
			return
		}
		checkRoundTrip(t, s, hp, ParseListen)
	})
}

// FuzzParseTarget: never panics; a success round-trips through String as
// one argument, and is never an address that cannot be dialled.
func FuzzParseTarget(f *testing.F) {
	for _, c := range [][2]string{{"", ""}, {"127.0.0.1", ""}, {"127.0.0.1", "80"}, {"::1", ""}, {"::1", "80"}, {"[::1]:80", ""},
		{"[::1]", "80"}, {"localhost:80", ""}, {"0.0.0.0", ""}, {"::", "1"}, {"[fe80::1%lo]:1", ""}, {"host:80", "81"}, {"0::0", ""}} {
		f.Add(c[0], c[1], 2)
	}
	f.Fuzz(func(t *testing.T, host, port string, n int) {
		args := []string{host, port}[:max(0, min(n, 2))]
		hp, err := ParseTarget(args, "localhost", DefaultPort)
		if err != nil {
			return
		}
		if hp.Kind == Wildcard || hp.Kind == AnyIPv4 || hp.Addr.IsValid() && hp.Addr.WithZone("").IsUnspecified() {
			t.Fatalf("%q: parsed to the unspecified address %#v", args, hp)
		}
		checkRoundTrip(t, strings.Join(args, " "), hp, func(s string) (HostPort, error) {
			return ParseTarget([]string{s}, "localhost", DefaultPort)
		})
		if hp.Kind == IPv4 || hp.Kind == IPv6 {
			if _, err := netip.ParseAddr(hp.Text); err != nil {
				t.Fatalf("%q: text %q is not the address", args, hp.Text)
			}
		}
	})
}
