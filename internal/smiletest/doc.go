// Package smiletest is what the tests of server, client, integration and
// the bench harness share, so that each helper exists once: building and
// running the real programs (Build, Start), a buffer tests read while a
// process writes (Buffer), a well-behaved greeter and a slow reader (Peer),
// a process started with Start, whose usage internal/smiletest/procfs reads,
// the heap a piece of a test's own process held at its peak (HeapPeak),
// and the tools a test runs (Tool). Its subpackages hold what a program
// outside the tests runs too: netfault's faults, naiveudp's naive UDP
// server, the matrices' data.
// Everything runs on loopback with real sockets and processes.
package smiletest
