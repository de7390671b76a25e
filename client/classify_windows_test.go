package client

import "golang.org/x/sys/windows"

// osErrors are Winsock's errors (and the Win32 codes of the same causes
// that overlapped I/O reports), by number, with their classes.
var osErrors = []osError{
	{"WSAECONNREFUSED", 10061, windows.WSAECONNREFUSED, classRefused},
	{"ERROR_CONNECTION_REFUSED", 1225, windows.ERROR_CONNECTION_REFUSED, classRefused}, // ConnectEx's Win32 form
	{"WSAETIMEDOUT", 10060, windows.WSAETIMEDOUT, classTimeout},
	{"ERROR_SEM_TIMEOUT", 121, windows.ERROR_SEM_TIMEOUT, classTimeout},
	{"WSAECONNRESET", 10054, windows.WSAECONNRESET, classReset},
	{"WSAECONNABORTED", 10053, windows.WSAECONNABORTED, classReset},
	{"ERROR_NETNAME_DELETED", 64, windows.ERROR_NETNAME_DELETED, classReset},         // a reset seen by an overlapped read
	{"ERROR_CONNECTION_ABORTED", 1236, windows.ERROR_CONNECTION_ABORTED, classReset}, // WSAECONNABORTED's Win32 form
	{"WSAENETUNREACH", 10051, windows.WSAENETUNREACH, classUnreachable},
	{"WSAEHOSTUNREACH", 10065, windows.WSAEHOSTUNREACH, classUnreachable},
	{"ERROR_NETWORK_UNREACHABLE", 1231, windows.ERROR_NETWORK_UNREACHABLE, classUnreachable},
	{"ERROR_HOST_UNREACHABLE", 1232, windows.ERROR_HOST_UNREACHABLE, classUnreachable},
	{"WSAEAFNOSUPPORT", 10047, windows.WSAEAFNOSUPPORT, classUnreachable},
	{"WSAENETDOWN", 10050, windows.WSAENETDOWN, classUnreachable},
	{"WSAEHOSTDOWN", 10064, windows.WSAEHOSTDOWN, classUnreachable},
	{"WSAEACCES", 10013, windows.WSAEACCES, classUnreachable},         // a firewall's reject
	{"WSAEADDRNOTAVAIL", 10049, windows.WSAEADDRNOTAVAIL, classOther}, // no local address: not the path's fault
	{"WSAENOBUFS", 10055, windows.WSAENOBUFS, classOther},             // out of ephemeral ports: not the path's fault
}
