package server

import (
	"fmt"
	"net"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dropNewSYNs attaches a classic BPF filter to a listening socket that
// drops bare SYNs (new handshakes) and lets everything else through, so a
// server that is shutting down can accept what the kernel already queued
// (and handshakes already answered) without new peers joining the queue;
// closing a listener with a non-empty queue would reset those peers.
func dropNewSYNs(ln net.Listener) error {
	// For TCP the filter sees the TCP header first; byte 13 holds the flags.
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_B | unix.BPF_ABS, K: 13},
		{Code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, K: 0x12}, // SYN|ACK
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: 0x02},
		{Code: unix.BPF_RET | unix.BPF_K, K: 0},
		{Code: unix.BPF_RET | unix.BPF_K, K: 0xffffffff},
	}
	return control(ln, func(fd int) error {
		return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]})
	})
}

// kernelBacklog is the backlog the kernel gave ln: listen(2) silently caps
// what it is asked at net.core.somaxconn. For a listener, TCP_INFO's
// tcpi_sacked holds it; asked is the answer where that cannot be read.
func kernelBacklog(ln net.Listener, asked int) int {
	n := asked
	_ = control(ln, func(fd int) error {
		info, err := tcpInfo(fd)
		if err == nil && info.Sacked > 0 {
			n = int(info.Sacked)
		}
		return err
	})
	return n
}

// queueLen is the number of connections in ln's accept queue (TCP_INFO's
// tcpi_unacked for a listener), or -1 when it cannot be read.
func queueLen(ln net.Listener) int {
	n := -1
	_ = control(ln, func(fd int) error {
		info, err := tcpInfo(fd)
		if err == nil {
			n = int(info.Unacked)
		}
		return err
	})
	return n
}

// tcpInfo reads fd's TCP_INFO, and fails when the answer is too short to
// hold the counts a listener keeps (tcpi_unacked, tcpi_sacked): qemu-user,
// for one, copies only the first 4 bytes of it, and zeros read as counts
// would have the drain owe nothing to a full queue.
func tcpInfo(fd int) (*unix.TCPInfo, error) {
	var info unix.TCPInfo
	n := uint32(unix.SizeofTCPInfo)
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.IPPROTO_TCP, unix.TCP_INFO,
		uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&n)), 0)
	if errno != 0 {
		return nil, os.NewSyscallError("getsockopt", errno)
	}
	if need := uint32(unsafe.Offsetof(info.Sacked) + unsafe.Sizeof(info.Sacked)); n < need {
		return nil, fmt.Errorf("TCP_INFO of %d bytes, short of the %d that hold a listener's counts", n, need)
	}
	return &info, nil
}
