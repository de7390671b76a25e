//go:build darwin || freebsd

package client

import "golang.org/x/sys/unix"

// osErrors are the errnos of macOS and FreeBSD, which share these
// numbers, with their classes.
var osErrors = []osError{
	{"ECONNREFUSED", 61, unix.ECONNREFUSED, classRefused},
	{"ETIMEDOUT", 60, unix.ETIMEDOUT, classTimeout},
	{"ECONNRESET", 54, unix.ECONNRESET, classReset},
	{"EPIPE", 32, unix.EPIPE, classReset},
	{"ECONNABORTED", 53, unix.ECONNABORTED, classReset},
	{"ENETUNREACH", 51, unix.ENETUNREACH, classUnreachable},
	{"EHOSTUNREACH", 65, unix.EHOSTUNREACH, classUnreachable},
	{"EAFNOSUPPORT", 47, unix.EAFNOSUPPORT, classUnreachable},
	{"ENETDOWN", 50, unix.ENETDOWN, classUnreachable},
	{"EHOSTDOWN", 64, unix.EHOSTDOWN, classUnreachable},   // ARP/NDP found no one (BSD reports it as such)
	{"EACCES", 13, unix.EACCES, classUnreachable},         // ICMPv6 administratively prohibited
	{"EPERM", 1, unix.EPERM, classUnreachable},            // a local packet filter's reject
	{"EADDRNOTAVAIL", 49, unix.EADDRNOTAVAIL, classOther}, // no local port free: not the path's fault
}
