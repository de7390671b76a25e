package flushwriter

// pipeBuf is PIPE_BUF on Linux: a pipe takes a write of up to this many
// bytes whole or not at all.
const pipeBuf = 4096
