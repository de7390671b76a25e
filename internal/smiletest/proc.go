package smiletest

import (
	"io"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/smile-sockets/smile/internal/smiletest/procfs"
	"github.com/stretchr/testify/require"
)

// Proc is a program running as a real process, for tests that must signal
// it, limit its descriptors, stall its output or read its CPU time and
// memory from the kernel.
type Proc struct {
	Cmd      *exec.Cmd
	Out, Err *Buffer // what it wrote, unless Options.Stdout took stdout
	done     chan struct{}
}

// Options say how to run a Proc.
type Options struct {
	Wrapper []string  // a command to run it under, e.g. prlimit --nofile=32:32 --
	Stdout  io.Writer // instead of Out, e.g. a pipe nobody reads
	Ready   string    // wait until Out holds this (the server's "SERVER started")
	Env     []string  // the whole environment, KEY=VALUE; empty unless set
}

// Start runs bin with args and o.Env as its whole environment (no SMILE_*
// from the test's), waits for o.Ready, and kills the process when the test ends if
// it still runs.
func Start(t testing.TB, bin string, o Options, args ...string) *Proc {
	t.Helper()
	p := &Proc{Out: &Buffer{}, Err: &Buffer{}, done: make(chan struct{})}
	argv := append(append(append([]string{}, o.Wrapper...), bin), args...)
	p.Cmd = exec.Command(argv[0], argv[1:]...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Out, p.Err
	if o.Stdout != nil {
		p.Cmd.Stdout = o.Stdout
	}
	p.Cmd.Env = append([]string{}, o.Env...)
	require.NoError(t, p.Cmd.Start())
	go func() {
		_ = p.Cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.Cmd.Process.Kill()
		<-p.done
	})
	if o.Ready != "" && !p.Out.WaitFor(t, o.Ready, 10*time.Second) {
		t.Fatalf("%v did not start: %s %s", args, p.Out, p.Err)
	}
	return p
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Pid is the process's id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Stop sends SIGTERM and returns the exit code and how long the exit took;
// the test fails if the process is still running 20 s later.
func (p *Proc) Stop(t testing.TB) (code int, took time.Duration) {
	t.Helper()
	NeedSignals(t)
	start := time.Now()
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("process did not exit within 20s of SIGTERM")
	}
	return p.Cmd.ProcessState.ExitCode(), time.Since(start)
}

// Usage is the process's CPU time so far and its memory, read from /proc;
// after the exit, the CPU time the kernel reported for the whole run.
func (p *Proc) Usage(t testing.TB) procfs.Usage {
	t.Helper()
	select {
	case <-p.done:
		return procfs.Usage{CPU: p.Cmd.ProcessState.UserTime() + p.Cmd.ProcessState.SystemTime()}
	default:
	}
	u, err := procfs.ReadUsage(p.Pid())
	require.NoError(t, err)
	return u
}

// NeedSignals skips a test that signals a process (SIGTERM, SIGINT) where
// Go cannot: a Windows process gets Ctrl-C through its console, not
// os.Process.Signal.
func NeedSignals(t testing.TB) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("signals a process, which Go cannot do to a Windows process")
	}
}
