package server

import (
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// zoneNamed is a with its zone as its interface's name, as the TCP line
// names a link-local peer's link: Linux's datagram path carries the
// index, named here only for a link-local peer's log line.
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

// zoneNames names interfaces by index for a link-local peer's zone, on
// the datagram path (zoneNamed) and Linux's accept path (sockaddrPeer),
// the way package net keeps its own zone cache: a lookup costs some 50 µs
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
