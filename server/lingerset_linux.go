package server

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// lingerSweep is how often a lingering socket is looked at when the accept
// loops are idle. Nothing waits on it: the peer got its EOF with the FIN,
// and the kernel answers the peer's FIN at once, so closing the socket
// later only returns its descriptor later.
const lingerSweep = 20 * time.Millisecond

// lingerLook is how long a socket lingers before its first look. A
// well-behaved peer closes one round trip after the greeting, so on a LAN
// the first look mostly finds its FIN and closes at once; only the others
// join the epoll instance.
const lingerLook = time.Millisecond

// lingerSet does the lingering close (linger.go) of every socket greeted
// on the fast path (fastpath_linux.go): the server has sent its FIN, and the set
// drops what each peer still sends until the peer's FIN, then closes.
// Nobody waits on the set: the accept loops sweep it each time their queue
// is empty, and a timer does while sockets linger and no connection comes.
// A sweep looks once at each socket that has lingered lingerLook, one
// recv(2): most peers have closed by then. A socket whose peer has not
// joins an epoll instance of the set's own (one epoll_ctl(2)), which the
// sweep reads without waiting (one epoll_wait(2) for all). No goroutine,
// timer or netpoller entry per socket.
type lingerSet struct {
	mu     sync.Mutex
	epfd   int // -1 until the first socket
	socks  map[int32]lingerer
	queue  []expiry // oldest first: every socket lingers as long
	looked int      // queue[:looked] have had their first look
	seq    uint64
	timer  *time.Timer // armed while sockets linger
	// closed is called once for every socket the set closes.
	closed func()

	sweeping sync.Mutex // one sweep at a time: a ready socket is handled once
	evs      []unix.EpollEvent
}

// lingerer is one lingering socket.
type lingerer struct {
	seq     uint64 // tells it from an earlier socket with the same descriptor
	dropped int
}

// expiry is when a socket began to linger.
type expiry struct {
	fd    int32
	seq   uint64
	since time.Time
}

// add takes over fd, whose greeting is written and FIN sent; it closes fd
// itself when it cannot linger on it.
func (l *lingerSet) add(fd int, now time.Time) {
	l.mu.Lock()
	if err := l.open(); err != nil {
		l.mu.Unlock()
		dropRaw(fd, lingerMax)
		l.closeFD(fd)
		return
	}
	l.seq++
	l.socks[int32(fd)] = lingerer{seq: l.seq}
	l.queue = append(l.queue, expiry{fd: int32(fd), seq: l.seq, since: now})
	if l.timer == nil {
		l.timer = time.AfterFunc(lingerSweep, l.tick)
	}
	l.mu.Unlock()
}

// open makes the epoll instance when there is none; l.mu is held.
func (l *lingerSet) open() error {
	if l.socks != nil {
		return nil
	}
	fd, err := epollCreate()
	if err != nil {
		return err
	}
	l.epfd, l.socks, l.evs = fd, map[int32]lingerer{}, make([]unix.EpollEvent, 64)
	return nil
}

// tick sweeps while sockets linger.
func (l *lingerSet) tick() {
	l.sweep()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.socks) == 0 {
		l.timer = nil
		return
	}
	l.timer.Reset(lingerSweep)
}

// sweep closes the sockets whose peers closed and those whose linger ran
// out. It returns at once when another sweep is under way.
func (l *lingerSet) sweep() {
	if !l.sweeping.TryLock() {
		return
	}
	defer l.sweeping.Unlock()
	l.mu.Lock()
	epfd := l.epfd
	empty := len(l.socks) == 0
	l.mu.Unlock()
	if empty {
		return
	}
	now := time.Now()
	l.look(now)
	for {
		n := epollWaitRaw(epfd, l.evs)
		for i := range n {
			l.ready(int(l.evs[i].Fd))
		}
		if n < len(l.evs) {
			break
		}
	}
	l.expire(now)
}

// look takes the first look at the sockets that have lingered lingerLook
// by now: it closes those whose peers closed and puts the others in the
// epoll instance.
func (l *lingerSet) look(now time.Time) {
	for {
		l.mu.Lock()
		if l.looked >= len(l.queue) || now.Sub(l.queue[l.looked].since) < lingerLook {
			l.mu.Unlock()
			return
		}
		e := l.queue[l.looked]
		l.looked++
		s, ok := l.socks[e.fd]
		l.mu.Unlock()
		if !ok || s.seq != e.seq {
			continue
		}
		fd := int(e.fd)
		n, more := dropRaw(fd, lingerMax)
		var err error
		l.mu.Lock()
		if more {
			s.dropped = n
			l.socks[e.fd] = s
			err = epollAddRaw(l.epfd, fd)
		}
		if !more || err != nil {
			delete(l.socks, e.fd)
		}
		l.mu.Unlock()
		if !more || err != nil {
			l.closeFD(fd) // the peer's FIN, too many bytes, or no room to wait
		}
	}
}

// ready drops what the peer of fd sent and closes fd at its FIN, or when
// it sent more than lingerMax.
func (l *lingerSet) ready(fd int) {
	l.mu.Lock()
	s, ok := l.socks[int32(fd)]
	l.mu.Unlock()
	if !ok {
		return
	}
	n, more := dropRaw(fd, lingerMax-s.dropped)
	l.mu.Lock()
	if more {
		s.dropped += n
		l.socks[int32(fd)] = s
		l.mu.Unlock()
		return
	}
	delete(l.socks, int32(fd))
	l.mu.Unlock()
	l.closeFD(fd)
}

// expire closes the sockets whose linger ran out by now.
func (l *lingerSet) expire(now time.Time) {
	for {
		l.mu.Lock()
		if len(l.queue) == 0 || now.Sub(l.queue[0].since) < lingerTimeout {
			if len(l.queue) == 0 {
				l.queue, l.looked = nil, 0 // let a burst's backing array go
			}
			l.mu.Unlock()
			return
		}
		e := l.queue[0]
		l.queue = l.queue[1:]
		l.looked = max(0, l.looked-1)
		s, ok := l.socks[e.fd]
		ok = ok && s.seq == e.seq // else closed at its FIN already
		if ok {
			delete(l.socks, e.fd)
		}
		l.mu.Unlock()
		if ok {
			dropRaw(int(e.fd), lingerMax-s.dropped)
			l.closeFD(int(e.fd))
		}
	}
}

func (l *lingerSet) closeFD(fd int) {
	closeRaw(fd)
	if l.closed != nil {
		l.closed()
	}
}

// stop closes the epoll instance once no socket lingers; the next add
// opens another.
func (l *lingerSet) stop() {
	l.sweeping.Lock()
	defer l.sweeping.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.socks == nil || len(l.socks) > 0 {
		return
	}
	closeRaw(l.epfd)
	l.epfd, l.socks = -1, nil
}
