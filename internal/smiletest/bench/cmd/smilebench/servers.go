//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// proc is one server child process.
type proc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
	log   string // smile-server's log file
	web   string // smile-server's -http address, if any
	smile bool
	// exited is closed when the process has been waited for.
	exited chan struct{}
	// peak RSS in KiB, per round
	rss []int64
	// limitMiB is the GOMEMLIMIT it runs under, 0 for none: its memory is
	// held to the limit rather than to not growing, since a Go heap
	// under a limit may grow towards it.
	limitMiB int
}

// env is where the servers of one run come from and go.
type env struct {
	self, bin, tmp string
	procs          []*proc
}

// cleanEnv drops SMILE_* variables so that only the flags given apply.
func cleanEnv() []string {
	var out []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "SMILE_") {
			out = append(out, e)
		}
	}
	return out
}

// freePort asks the kernel for a free port on 127.0.0.1 (smile-server
// wants a real port number).
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startSmile runs bin/smile-server on a free port of 127.0.0.1, its log in
// a file, and waits for its start line.
func (e *env) startSmile(name string, args ...string) (p *proc, err error) {
	return e.startSmileLimited(name, 0, args...)
}

// startSmileLimited is startSmile under GOMEMLIMIT=limitMiB MiB (none
// for 0).
func (e *env) startSmileLimited(name string, limitMiB int, args ...string) (p *proc, err error) {
	for range 3 { // the free port may be taken in between
		if p, err = e.startSmileOnce(name, limitMiB, args...); err == nil {
			return p, nil
		}
	}
	return nil, err
}

func (e *env) startSmileOnce(name string, limitMiB int, args ...string) (*proc, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(e.tmp, strings.ReplaceAll(name, " ", "_")+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(filepath.Join(e.bin, "smile-server"), append([]string{"-listen", addr}, args...)...)
	cmd.Env = cleanEnv()
	if limitMiB > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("GOMEMLIMIT=%dMiB", limitMiB))
	}
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // the exit status is in cmd.ProcessState
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(logPath)
		if bytes.Contains(b, []byte("listening on "+addr)) {
			p := &proc{name: name, cmd: cmd, log: logPath, smile: true, addr: addr, exited: exited, limitMiB: limitMiB}
			e.procs = append(e.procs, p)
			return p, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("%s did not start: %s", name, strings.TrimSpace(stderr.String()))
		case <-time.After(10 * time.Millisecond):
		}
	}
	_ = cmd.Process.Kill()
	<-exited
	return nil, fmt.Errorf("%s did not start within 5s", name)
}

// startSelf runs this binary in a server role.
func (e *env) startSelf(name string, args ...string) (*proc, error) {
	return e.startProgram(name, e.self, args...)
}

// startProgram runs a reference server that prints "listening on ADDR"
// as its first line and reads its address from it. The server ends with
// this process: its stdin closes, and the kernel sends it SIGTERM.
func (e *env) startProgram(name, path string, args ...string) (*proc, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = cleanEnv()
	cmd.Stderr = io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	e.procs = append(e.procs, p)
	go func() { _ = cmd.Wait(); close(p.exited) }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("%s did not start: %w", name, err)
	}
	p.addr = strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return p, nil
}

// stop ends a server: SIGTERM, and for smile-server a clean drain (exit 0).
func (p *proc) stop() error {
	select {
	case <-p.exited:
	default:
		if p.stdin != nil {
			_ = p.stdin.Close()
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
			return fmt.Errorf("%s did not stop within 15s of SIGTERM", p.name)
		}
	}
	if !p.cmd.ProcessState.Success() {
		return fmt.Errorf("%s: %v", p.name, p.cmd.ProcessState)
	}
	return nil
}
