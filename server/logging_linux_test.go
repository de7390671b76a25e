package server

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// TestLossCountHoldsWhenTheReaderComesBack: the log's stdout is a FIFO in
// blocking mode, as a server inherits it, that nobody reads until the log
// is closed. A write the exit gave up on must not be left blocked in the
// kernel, or a reader that comes back just after the count is made gets
// lines the count calls dropped.
func TestLossCountHoldsWhenTheReaderComesBack(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "stdout")
	require.NoError(t, unix.Mkfifo(fifo, 0o600))
	held, err := os.OpenFile(fifo, os.O_RDWR|unix.O_NONBLOCK, 0)
	require.NoError(t, err)
	defer held.Close()
	fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_CLOEXEC, 0) // blocking, like an inherited stdout
	require.NoError(t, err)
	stdout := os.NewFile(uintptr(fd), "stdout")
	defer stdout.Close()

	stderr := &smiletest.Buffer{}
	log, _, _, closeLog := newLog(stdout, stderr, "text")
	const lines = 20000
	for i := range lines {
		log.Info("line " + strconv.Itoa(i))
	}
	closeLog()
	got := readHeld(t, held) // the reader comes back
	time.Sleep(200 * time.Millisecond)
	got = append(got, readHeld(t, held)...) // anything a blocked write still put there

	m := regexp.MustCompile(`^smile-server: (\d+) log lines \(\d+ bytes\) dropped`).FindStringSubmatch(stderr.String())
	require.NotNil(t, m, "stderr: %q", stderr)
	lost, _ := strconv.Atoi(m[1])
	written := strings.Count(string(got), "\n")
	t.Logf("FIGURES reader back after the exit's count: %d lines read, %d reported dropped, %d logged", written, lost, lines)
	assert.True(t, strings.HasSuffix(string(got), "\n"), "whole lines only")
	assert.Equal(t, lines, written+lost, "lines read and lines reported dropped add up to lines logged")
}
