//go:build linux

// Package hostexec runs a program in a container that holds a network
// namespace, on request, and times it there. The integration suite's
// matrices run hundreds of short client processes: as containers of their
// own each cost the Docker daemon 0.4 (joining a host's namespace) to 1.5
// (on a dual-stack network) CPU-seconds, and `docker exec` costs less but
// starts the process only when the daemon, containerd and runc get the CPU,
// which on a loaded machine added seconds to a 2 ms greeting. Here the
// host container's own long-running process (netfault hold -exec) forks the
// program itself and reports how long it ran from fork to exit, so a cell's
// time is the program's, whatever the daemon is doing.
//
// The test reaches the host through a Unix socket in a directory it
// bind-mounts into the container, not over the network: the faults the
// host carries cannot cut the test off from it.
package hostexec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Request is one run of the host's program.
type Request struct {
	Args []string `json:"args"` // the program's arguments
	// Timeout ends the program with SIGKILL if it runs longer: a hung
	// program must not hang the test. 0 means MaxTimeout.
	Timeout time.Duration `json:"timeout"`
}

// MaxTimeout bounds every run, and is a request's timeout unless it sets a
// shorter one.
const MaxTimeout = 2 * time.Minute

// Result is how a run ended.
type Result struct {
	Exit   int    `json:"exit"` // the exit code; -1 when a signal ended it
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	// Took is from just before the fork to the program's exit, by the host.
	Took time.Duration `json:"took"`
	// Ended is when the program exited, by the host's clock (the machine's).
	Ended time.Time `json:"ended"`
	// Killed says the program outlived its timeout and was killed.
	Killed bool `json:"killed,omitempty"`
	// Error says why the program could not run at all; the rest is then empty.
	Error string `json:"error,omitempty"`
}

// Server runs Program for each request on its listener.
type Server struct {
	Program string
	// Credential, when set, is who the program runs as: the server runs as
	// root to hold faults in place, the program as its image's own user.
	Credential *syscall.Credential
}

// Listen makes the Unix socket at path, replacing a stale one, and lets
// anyone connect: the test may run as a user other than the container's
// root.
func Listen(path string) (net.Listener, error) {
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o666); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return ln, nil
}

// Serve answers requests on ln, one per connection, each in a goroutine of
// its own, until ctx ends; then it closes ln and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		_ = ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accepting a request: %w", err)
		}
		go s.serveConn(ctx, conn)
	}
}

// serveConn reads one request from conn, runs it and writes the result.
func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	defer func() { _ = conn.Close() }()
	var req Request
	var res Result
	if err := json.NewDecoder(conn).Decode(&req); err != nil {
		res.Error = "reading the request: " + err.Error()
	} else {
		res = s.run(ctx, req)
	}
	_ = json.NewEncoder(conn).Encode(res)
}

// run runs the program once as req says.
func (s *Server) run(ctx context.Context, req Request) Result {
	timeout := req.Timeout
	if timeout <= 0 || timeout > MaxTimeout {
		timeout = MaxTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.Program, req.Args...)
	// The environment is the host's, which Docker made for the container.
	// In a process group of its own, killed whole at the timeout: a child
	// it left behind would otherwise hold its output open, and Wait with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.Credential, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	ended := time.Now()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String(), Took: ended.Sub(start), Ended: ended}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.Exit = exit.ExitCode()
		res.Killed = ctx.Err() != nil
	default:
		return Result{Error: fmt.Sprintf("running %s: %v", s.Program, err)}
	}
	return res
}

// Run asks the host listening at socket to run its program with req and
// returns how the run ended. An error says the host could not be asked or
// could not run the program.
func Run(ctx context.Context, socket string, req Request) (Result, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return Result{}, fmt.Errorf("reaching the host: %w", err)
	}
	defer func() { _ = conn.Close() }()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return Result{}, fmt.Errorf("asking the host: %w", err)
	}
	var res Result
	if err := json.NewDecoder(conn).Decode(&res); err != nil {
		return Result{}, fmt.Errorf("reading the host's answer: %w", err)
	}
	if res.Error != "" {
		return res, errors.New(res.Error)
	}
	return res, nil
}
