package cli

// holdStdio has nothing to hold on Windows: sockets are handles, not the
// lowest free descriptor, and a failed write to stdout or stderr raises no
// SIGPIPE.
func holdStdio() {}
