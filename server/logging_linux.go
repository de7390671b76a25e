package server

import (
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pollableStdout gives the log a descriptor of its own for stdout when
// stdout is a pipe or FIFO: the same pipe opened anew through /proc, in
// non-blocking mode, which the runtime polls. A write to it that a stalled
// pipe holds up waits in the netpoller, and the deadline the log sets at
// exit ends it, so the exit's count of dropped lines is exact: no write is
// left blocked in the kernel to deliver lines the count called dropped if
// a reader comes back. The flag belongs to the new open file description,
// so whoever else holds the pipe keeps blocking writes. Anything else, or
// a pipe that can't be opened so (no /proc, no reader), is used as it is.
func pollableStdout(w io.Writer) io.Writer {
	f, ok := w.(*os.File)
	if !ok {
		return w
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return w
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return w
	}
	nfd := -1
	if err := rc.Control(func(fd uintptr) {
		nfd, _ = unix.Open("/proc/self/fd/"+strconv.Itoa(int(fd)), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	}); err != nil || nfd < 0 {
		return w
	}
	return os.NewFile(uintptr(nfd), f.Name())
}
