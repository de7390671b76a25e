package client

import "golang.org/x/sys/windows"

// The Winsock errors behind each class. Go's net reports Winsock's own
// codes (WSAECONNREFUSED, not ECONNREFUSED), and a ConnectEx that fails
// may report the Win32 code of the same cause (ERROR_CONNECTION_REFUSED),
// so both are here.
var (
	refusedErrs = []error{windows.WSAECONNREFUSED, windows.ERROR_CONNECTION_REFUSED}
	resetErrs   = []error{windows.WSAECONNRESET, windows.WSAECONNABORTED, windows.ERROR_NETNAME_DELETED,
		windows.ERROR_CONNECTION_ABORTED}
	unreachableErrs = []error{windows.WSAENETUNREACH, windows.WSAEHOSTUNREACH, windows.WSAEAFNOSUPPORT,
		windows.WSAENETDOWN, windows.WSAEHOSTDOWN, windows.ERROR_NETWORK_UNREACHABLE, windows.ERROR_HOST_UNREACHABLE}
	prohibitedErrs  = []error{windows.WSAEACCES} // a firewall's reject: unreachable
	timedOutErrs    = []error{windows.WSAETIMEDOUT, windows.ERROR_SEM_TIMEOUT}
	noLocalAddrErrs = []error{windows.WSAEADDRNOTAVAIL, windows.WSAENOBUFS} // out of local ports: error, not the path
)
