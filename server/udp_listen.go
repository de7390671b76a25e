package server

import (
	"context"
	"fmt"
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
// same family mode: an IPv6 wildcard is dual-stack unless -v6only. A port
// another program holds for UDP is a start error, as a TCP one is.
func listenDatagrams(listeners []*boundListener, v6only bool) ([]*udpSocket, error) {
	var out []*udpSocket
	for _, l := range listeners {
		u, err := listenUDP(l.addr, v6only)
		if err != nil {
			closeDatagrams(out)
			return nil, &startError{err}
		}
		out = append(out, u)
	}
	return out, nil
}

func listenUDP(ap netip.AddrPort, v6only bool) (*udpSocket, error) {
	// Go's own rule, which the TCP sockets follow too: udp4 for IPv4,
	// udp6 (IPV6_V6ONLY) for IPv6, udp on the IPv6 wildcard for both.
	network, mode := "udp4", "IPv4 only"
	switch {
	case ap.Addr().Is6() && ap.Addr().IsUnspecified() && !v6only:
		network, mode = "udp", "dual-stack"
	case ap.Addr().Is6():
		network, mode = "udp6", "IPv6 only"
	}
	var lc net.ListenConfig
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pc, err := lc.ListenPacket(ctx, network, ap.String())
	if err != nil {
		return nil, fmt.Errorf("can't bind to %s for datagrams: %w", ap, err)
	}
	return &udpSocket{UDPConn: pc.(*net.UDPConn), addr: ap, mode: mode}, nil
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
		peer = netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())
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
