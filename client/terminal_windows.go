package client

import "golang.org/x/sys/windows"

// isTerminalFd reports whether fd is a console. A console with virtual
// terminal processing (Windows Terminal, and conhost when a program asks)
// acts on escape sequences as a Unix terminal does, and one without shows
// control bytes as glyphs; output redirected to a file or a pipe has no
// console mode.
func isTerminalFd(fd uintptr) bool {
	var mode uint32
	return windows.GetConsoleMode(windows.Handle(fd), &mode) == nil
}
