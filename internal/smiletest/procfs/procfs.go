// Package procfs reads what the kernel says of a process and of a network
// namespace from /proc: CPU time and memory, status fields, and sockets in
// TIME_WAIT. Tests and the load harness share it, so each is parsed once.
package procfs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Usage is what the kernel says a process has used: CPU time (user and
// system) and resident memory now and at its peak, in KiB.
type Usage struct {
	CPU          time.Duration
	RSSKB, HWMKB int
}

// ReadUsage reads pid's CPU time from /proc/PID/stat and its memory from
// /proc/PID/status.
func ReadUsage(pid int) (Usage, error) {
	var u Usage
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// After "pid (comm) ", utime and stime are the 12th and 13th fields.
	rest := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(rest) < 13 {
		return u, fmt.Errorf("short /proc/%d/stat: %q", pid, stat)
	}
	utime, _ := strconv.Atoi(rest[11])
	stime, _ := strconv.Atoi(rest[12])
	u.CPU = time.Duration(utime+stime) * time.Second / 100 // USER_HZ
	status, err := ReadStatus(pid)
	if err != nil {
		return u, err
	}
	u.RSSKB, u.HWMKB = status["VmRSS"], status["VmHWM"]
	return u, nil
}

// ReadStatus returns the numeric fields of /proc/PID/status (VmRSS,
// VmHWM, Threads, ...), sizes in KiB as the kernel gives them.
func ReadStatus(pid int) (map[string]int, error) {
	fields, err := ReadStatusFields(pid)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for key, val := range fields {
		if f := strings.Fields(val); len(f) > 0 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				out[key] = n
			}
		}
	}
	return out, nil
}

// ReadStatusFields returns every field of /proc/PID/status as text, for
// those that are not numbers (CapEff, Uid, NoNewPrivs).
func ReadStatusFields(pid int) (map[string]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if key, val, ok := strings.Cut(line, ":"); ok {
			out[key] = strings.TrimSpace(val)
		}
	}
	return out, nil
}

// TimeWait counts the TCP sockets in TIME_WAIT (state 06) whose local port
// is port, in this network namespace, IPv4 and IPv6.
func TimeWait(port int) int {
	n, _ := TimeWaitIn("/proc/net", port)
	return n
}

// TimeWaitIn is TimeWait in the network namespace whose /proc/net is dir:
// /proc/PID/net is that of process PID's namespace (a container's), and
// any user may read it.
func TimeWaitIn(dir string, port int) (int, error) {
	n := 0
	for _, file := range []string{"tcp", "tcp6"} {
		f, err := os.Open(dir + "/" + file)
		if err != nil {
			return 0, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st ...; TIME_WAIT is st 06.
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 {
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if ok && strings.EqualFold(hexPort, fmt.Sprintf("%04X", port)) && fields[3] == "06" {
				n++
			}
		}
		_ = f.Close()
	}
	return n, nil
}
