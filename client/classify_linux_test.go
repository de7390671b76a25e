package client

import "golang.org/x/sys/unix"

// osErrors are Linux's errnos, by number, with their classes.
var osErrors = []osError{
	{"ECONNREFUSED", 111, unix.ECONNREFUSED, classRefused},
	{"ETIMEDOUT", 110, unix.ETIMEDOUT, classTimeout},
	{"ECONNRESET", 104, unix.ECONNRESET, classReset},
	{"EPIPE", 32, unix.EPIPE, classReset},
	{"ECONNABORTED", 103, unix.ECONNABORTED, classReset},
	{"ENETUNREACH", 101, unix.ENETUNREACH, classUnreachable},
	{"EHOSTUNREACH", 113, unix.EHOSTUNREACH, classUnreachable},
	{"EAFNOSUPPORT", 97, unix.EAFNOSUPPORT, classUnreachable},
	{"ENETDOWN", 100, unix.ENETDOWN, classUnreachable},
	{"EHOSTDOWN", 112, unix.EHOSTDOWN, classUnreachable},  // ARP/NDP found no one (BSD reports it as such)
	{"EACCES", 13, unix.EACCES, classUnreachable},         // ICMPv6 administratively prohibited
	{"EPERM", 1, unix.EPERM, classUnreachable},            // a local packet filter's reject
	{"EADDRNOTAVAIL", 99, unix.EADDRNOTAVAIL, classOther}, // no local port free: not the path's fault
}
