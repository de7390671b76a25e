//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/smile-sockets/smile/internal/smiletest/bench"
)

// loader puts n probes on a server and summarises them.
type loader struct {
	name string
	run  func(addr string, n int) (bench.Summary, error)
}

// clientLoader is bin/smile-client in -count/-concurrency -json mode.
func clientLoader(bin, tmp string, workers int) loader {
	return loader{name: "smile-client", run: func(addr string, n int) (bench.Summary, error) {
		host, port, _ := net.SplitHostPort(addr)
		return runClient(filepath.Join(bin, "smile-client"), tmp, "-count", strconv.Itoa(n), "-concurrency", strconv.Itoa(workers),
			"-json", "-expect", bench.Greeting, host, port)
	}}
}

// dialLoader is the harness's minimal dial loop, a child process, its
// workers bound to sources (FIRST-LAST) when not empty.
func dialLoader(self string, workers int, sources string, readTimeout time.Duration) loader {
	from := sources
	if from == "" {
		from = "127.0.0.1"
	}
	return loader{name: "dial loop from " + from, run: func(addr string, n int) (bench.Summary, error) {
		args := []string{"-role", "dial", "-addr", addr, "-count", strconv.Itoa(n), "-workers", strconv.Itoa(workers),
			"-read-timeout", readTimeout.String()}
		if sources != "" {
			args = append(args, "-sources", sources)
		}
		return runJSON(exec.Command(self, args...))
	}}
}

// dgramSize is the datagram rows' request: dgram.Request padded to 64
// bytes, more than the greeting's 21, which smile-server answers only
// when it is no shorter (docs/datagrams.md).
const dgramSize = 64

// dgramLoader is the harness's datagram loop (bench.DatagramLoop), a
// child process: workers connected sockets, one request in flight each.
func dgramLoader(self string, workers, size int, timeout time.Duration) loader {
	return loader{name: fmt.Sprintf("datagram loop, %d sockets, %d B", workers, size), run: func(addr string, n int) (bench.Summary, error) {
		return runJSON(exec.Command(self, "-role", "dgram", "-addr", addr, "-count", strconv.Itoa(n), "-workers", strconv.Itoa(workers),
			"-size", strconv.Itoa(size), "-read-timeout", timeout.String()))
	}}
}

// runClient runs smile-client and reads the summary object, the last line
// of its -json output.
func runClient(client, tmp string, args ...string) (bench.Summary, error) {
	out, err := os.CreateTemp(tmp, "client")
	if err != nil {
		return bench.Summary{}, err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd := exec.Command(client, args...)
	cmd.Env = cleanEnv()
	cmd.Stdout = out
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	runErr := cmd.Run()
	b, err := os.ReadFile(out.Name())
	if err != nil {
		return bench.Summary{}, err
	}
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	var s bench.Summary
	if err := json.Unmarshal(b, &s); err != nil || s.Type != "summary" {
		if err == nil {
			err = errors.New("last line is not a summary")
		}
		return s, fmt.Errorf("no summary from smile-client (exit: %w, decode: %w): %s", runErr, err, stderr.String())
	}
	if runErr != nil {
		l, _, _ := strings.Cut(stderr.String(), "\n")
		return s, fmt.Errorf("smile-client: %w: %s%s", runErr, l, firstFailure(out.Name()))
	}
	return s, nil
}

// firstFailure is the error of the first failed probe in smile-client's
// -json output and the count of each class, which say why a row failed
// when the client itself printed nothing on stderr.
func firstFailure(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var first string
	var classes map[string]int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var p struct {
			Type    string         `json:"type"`
			OK      bool           `json:"ok"`
			Error   string         `json:"error"`
			Classes map[string]int `json:"classes"`
		}
		switch {
		case json.Unmarshal(sc.Bytes(), &p) != nil:
		case p.Type == "summary":
			classes = p.Classes
		case p.Type == "probe" && first == "" && !p.OK:
			first = p.Error
		}
	}
	return fmt.Sprintf(" (classes %v; first failure: %s)", classes, first)
}

// runJSON runs a dial or datagram loop child and reads its summary.
func runJSON(cmd *exec.Cmd) (bench.Summary, error) {
	cmd.Env = cleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var s bench.Summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		return s, fmt.Errorf("no summary from the dial loop (exit: %w, decode: %w): %s", runErr, err, stderr.String())
	}
	if runErr != nil && s.FailedProbes == 0 {
		return s, runErr
	}
	return s, nil
}

// countConnLines counts a smile-server log's connection lines and returns
// the last one without its timestamp.
func countConnLines(path string) (int, string, error) {
	return countLines(path, " INFO Connection received from ")
}

// countLines counts the lines of a smile-server log holding mark and
// returns the last one from mark on, without its timestamp.
func countLines(path, mark string) (int, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	n, last := 0, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if _, after, ok := strings.Cut(sc.Text(), mark); ok {
			n++
			last = strings.TrimPrefix(mark, " INFO ") + after
		}
	}
	return n, last, sc.Err()
}
