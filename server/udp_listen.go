package server

import (
	"net"
	"net/netip"
	"strconv"
	"sync"
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

// zoneNamed is a with its zone as its interface's name, as the TCP line
// names a link-local peer's link: Linux's datagram path carries the
// index, named here only for a link-local peer's log line, through
// zoneNames.
func zoneNamed(a netip.Addr) netip.Addr {
	if a.Zone() == "" {
		return a
	}
	i, err := strconv.Atoi(a.Zone())
	if err != nil {
		return a
	}
	if name := zoneNames.name(i); name != "" {
		return a.WithZone(name)
	}
	return a
}

// zoneNames names interfaces by index for zoneNamed, the way package net
// keeps its own zone cache: a lookup of every interface costs some 50 µs
// and 30 allocations, too much for each greeting of a link-local peer,
// so the names are kept and read anew at most once a minute, or when an
// index is not among them (a link that came up since).
var zoneNames = &ifaceNames{}

type ifaceNames struct {
	mu     sync.Mutex
	byIdx  map[int]string
	loaded time.Time
}

func (c *ifaceNames) name(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	name, ok := c.byIdx[i]
	if ok && time.Since(c.loaded) < time.Minute {
		return name
	}
	if time.Since(c.loaded) < time.Second && c.byIdx != nil {
		return name // looked up a moment ago: an unknown index stays unnamed
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return name
	}
	c.byIdx, c.loaded = make(map[int]string, len(ifs)), time.Now()
	for _, ifi := range ifs {
		c.byIdx[ifi.Index] = ifi.Name
	}
	return c.byIdx[i]
}
