package server

import "sync"

// slots counts the greetings in service across every listener of a
// Server. A listener waits until a slot is free before it accepts, but
// takes the slot only once it holds a connection: an idle listener blocked
// in accept(2) pins nothing, and exactly max connections are in service. A
// listener waits on the others only when one took the last slot between
// its wait and its accept, and then with a connection in hand.
type slots struct {
	mu    sync.Mutex
	used  int
	max   int
	freed chan struct{} // closed when a slot frees while someone waits
}

func newSlots(max int) *slots { return &slots{max: max} }

// waitFree returns once a slot is free, without taking it.
func (s *slots) waitFree() { s.wait(false) }

// take waits for a free slot and takes it.
func (s *slots) take() { s.wait(true) }

func (s *slots) wait(take bool) {
	s.mu.Lock()
	for s.used >= s.max {
		if s.freed == nil {
			s.freed = make(chan struct{})
		}
		ch := s.freed
		s.mu.Unlock()
		<-ch
		s.mu.Lock()
	}
	if take {
		s.used++
	}
	s.mu.Unlock()
}

// release frees a slot taken with take.
func (s *slots) release() {
	s.mu.Lock()
	s.used--
	if s.freed != nil {
		close(s.freed)
		s.freed = nil
	}
	s.mu.Unlock()
}

// inUse is the number of slots taken now.
func (s *slots) inUse() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}
