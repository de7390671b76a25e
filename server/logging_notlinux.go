//go:build !linux

package server

import "io"

// pollableStdout is stdout as it is where the log can't reopen a pipe
// through /proc (logging_linux.go): a write the exit gives up on may stay
// blocked in the kernel.
func pollableStdout(w io.Writer) io.Writer { return w }
