package client

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"

	"github.com/smile-sockets/smile/internal/errtext"
)

// Error classes: every failure is exactly one of these, so scripts and
// the integration matrix can assert the cause, not an error string.
const (
	classDNS         = "dns"
	classRefused     = "refused"
	classTimeout     = "timeout"
	classReset       = "reset"
	classUnreachable = "unreachable"
	classTooLarge    = "too-large"
	classMismatch    = "mismatch"
	classEmpty       = "empty"
	classBlackHole   = "black-hole" // -pmtu: datagrams lost above the path MTU with no ICMP (udp.go)
	classOther       = "error"
)

// classes are every class, in order: the one list, given out by Classes,
// to which every other (docs/usage.md, docs/json.md, docs/platforms.md,
// the JSON schema) is held by a test (classdocs_test.go lists them).
var classes = []string{classDNS, classRefused, classTimeout, classReset, classUnreachable,
	classTooLarge, classMismatch, classEmpty, classBlackHole, classOther}

// classify maps an error to its class, from the system's own errors
// (classify_notwindows.go, classify_windows.go). A firewall's reject always gets
// one: ICMP unreachable and administratively prohibited arrive as
// EHOSTUNREACH or ENETUNREACH, ICMPv6 administratively prohibited as
// EACCES, a local packet filter's reject as EPERM: all unreachable. A
// connect that fails with EADDRNOTAVAIL ran out of local ports (or its
// source address vanished), which says nothing about the path: error.
func classify(err error) string {
	var dnsErr *net.DNSError
	var addrErr *net.AddrError
	var ne net.Error
	switch {
	case errors.Is(err, errTooLarge):
		return classTooLarge
	case errors.Is(err, errEmpty):
		return classEmpty
	case errors.As(err, &dnsErr), errors.As(err, &addrErr):
		return classDNS
	case isAny(err, refusedErrs):
		return classRefused
	case isAny(err, resetErrs):
		return classReset
	case isAny(err, unreachableErrs), isAny(err, prohibitedErrs):
		return classUnreachable
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout(), isAny(err, timedOutErrs):
		return classTimeout
	}
	return classOther
}

// classText is the class with the words that tell its causes apart, as
// the one-line error ends: "unreachable: network is unreachable".
func classText(class string, err error) string {
	// An ICMP error says what it was and who sent it: "unreachable:
	// prohibited by a firewall at 198.51.100.1 (on the way)".
	var ie *icmpError
	if (class == classUnreachable || class == classOther) && errors.As(err, &ie) {
		return class + ": " + ie.words()
	}
	switch class {
	case classUnreachable:
		if isAny(err, prohibitedErrs) {
			return class + ": prohibited by a firewall (" + rootCause(err) + ")"
		}
		return class + ": " + rootCause(err)
	case classOther:
		if isAny(err, noLocalAddrErrs) {
			return class + ": no local port or address free to connect from (" + rootCause(err) + ")"
		}
		return class + ": " + rootCause(err)
	case classTooLarge:
		return class + ": " + strings.TrimPrefix(err.Error(), errTooLarge.Error()+": ")
	case classMismatch, classEmpty:
		return class + ": " + err.Error()
	}
	return class
}

func dnsDetail(err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsTimeout {
			return "timeout"
		}
		return dnsErr.Err
	}
	var addrErr *net.AddrError
	if errors.As(err, &addrErr) {
		return addrErr.Err
	}
	return rootCause(err)
}

// rootCause is the innermost error text: "connection refused" rather than
// Go's "dial tcp 127.0.0.1:7890: connect: connection refused".
func rootCause(err error) string { return errtext.RootCause(err) }

// isAny reports whether err is any of errs.
func isAny(err error, errs []error) bool {
	for _, e := range errs {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
