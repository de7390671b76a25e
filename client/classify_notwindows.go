//go:build !windows

package client

import "golang.org/x/sys/unix"

// The errnos behind each class, the same names on Linux, macOS and
// FreeBSD (their numbers differ, which x/sys/unix accounts for).
var (
	refusedErrs     = []error{unix.ECONNREFUSED}
	resetErrs       = []error{unix.ECONNRESET, unix.EPIPE, unix.ECONNABORTED}
	unreachableErrs = []error{unix.ENETUNREACH, unix.EHOSTUNREACH, unix.EAFNOSUPPORT, unix.ENETDOWN, unix.EHOSTDOWN}
	prohibitedErrs  = []error{unix.EACCES, unix.EPERM} // a firewall's reject: unreachable
	timedOutErrs    = []error{unix.ETIMEDOUT}
	noLocalAddrErrs = []error{unix.EADDRNOTAVAIL} // out of local ports: error, not the path
)
