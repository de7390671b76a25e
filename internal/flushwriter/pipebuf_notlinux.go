//go:build !linux

package flushwriter

// pipeBuf is POSIX's least PIPE_BUF (_POSIX_PIPE_BUF), which every
// system's pipes honour: a write of up to this many bytes goes whole or
// not at all.
const pipeBuf = 512
