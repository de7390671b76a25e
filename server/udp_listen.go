package server

import (
	"net"
	"net/netip"
	"time"
)

// udpSocket is the datagram socket beside one TCP listener, with the words
// of its start line.
type udpSocket struct {
	*net.UDPConn
	addr netip.AddrPort // as bound: the TCP listener's address and port
	mode string         // dual-stack, IPv4 only, IPv6 only
}

// listenDatagrams opens a UDP socket on each listener's address and port
// (the port as bound, so -listen :0 gets the TCP port's twin), with the
// same options: -reuseaddr, and an IPv6 wildcard dual-stack unless
// -v6only (listenUDPSocket, per system). A port another program holds for
// UDP is a start error, as a TCP one is.
func listenDatagrams(listeners []*boundListener, o sockOpts) ([]*udpSocket, error) {
	var out []*udpSocket
	for _, l := range listeners {
		pc, mode, err := listenUDPSocket(l.addr, o)
		if err != nil {
			closeDatagrams(out)
			return nil, &startError{err}
		}
		out = append(out, &udpSocket{UDPConn: pc, addr: l.addr, mode: mode})
	}
	return out, nil
}

func closeDatagrams(us []*udpSocket) {
	for _, u := range us {
		_ = u.Close()
	}
}

// newDatagrams is srv's datagram side: its greeting, its drain window,
// and the log line of an ordinary datagram named as the TCP line names a
// peer (off the critical path, dropped and counted when stdout stalls).
func newDatagrams(srv *Server) *datagrams {
	d := &datagrams{greeting: srv.greeting, idle: srv.drainIdle}
	d.log = func(at time.Time, peer netip.AddrPort) {
		peer = netip.AddrPortFrom(zoneNamed(peer.Addr().Unmap()), peer.Port())
		if srv.names == nil {
			logDatagram(srv.log, at, peer, "")
			return
		}
		if name, ok := srv.names.cached(peer.Addr(), at); ok {
			logDatagram(srv.log, at, peer, name)
			return
		}
		srv.names.name(peer.Addr(), func(name string) { logDatagram(srv.log, at, peer, name) })
	}
	return d
}
