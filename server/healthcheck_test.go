package server

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smile-sockets/smile/internal/smiletest"
)

// TestHealthcheckFindsItsServer runs the real program under another name
// (as `go install` or a distribution might name it) and not as PID 1, as
// under tini or a pod's pause process: the health check finds the process
// running its own executable and checks the listener and greeting that
// process was started with, from its flags and its environment; flags
// given to the health check itself win.
func TestHealthcheckFindsItsServer(t *testing.T) {
	needProc(t)
	bin := filepath.Join(t.TempDir(), "greeter")
	b, err := os.ReadFile(serverBinary(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, b, 0o755))
	port := smiletest.FreePort(t)
	srv := smiletest.Start(t, bin, smiletest.Options{Ready: "SERVER started", Env: []string{"SMILE_GREETING=from the environment"}},
		"-resolve=false", "-listen", fmt.Sprintf("127.0.0.1:%d", port))
	needNativeProc(t, srv.Pid(), bin)
	healthy := fmt.Sprintf("healthy: 127.0.0.1:%d greeted %q\n", port, "from the environment")
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no flags: the server's", []string{"-healthcheck"}, 0, healthy, ""},
		{"the same flags again", []string{"-healthcheck", "-listen", fmt.Sprintf("127.0.0.1:%d", port)}, 0, healthy, ""},
		{"its own -greeting wins", []string{"-healthcheck", "-greeting", "other"}, 1, "",
			fmt.Sprintf("smile-server: unhealthy: 127.0.0.1:%d greeted %q, want %q\n", port, "from t", "other")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := smiletest.Start(t, bin, smiletest.Options{}, c.args...)
			<-p.Done()
			assert.Equal(t, c.code, p.Cmd.ProcessState.ExitCode(), p.Err.String())
			assert.Equal(t, c.stdout, p.Out.String())
			assert.Equal(t, c.stderr, p.Err.String())
		})
	}
}

// TestHealthConfigMergesTheServersSettings: the server's flags, then its
// environment (or, where that cannot be read, the health check's own),
// with the health check's flags winning.
func TestHealthConfigMergesTheServersSettings(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	cases := []struct {
		name           string
		srv            serverProc
		args           []string
		own            map[string]string
		listen, greets string
		v6only         bool
	}{
		{"positional port", serverProc{args: []string{"9999"}}, []string{"-healthcheck"}, nil, ":9999", DefaultGreeting, false},
		{"flags and environment", serverProc{args: []string{"-v6only", "-listen", "[::]:8000,127.0.0.1:8001"}, environ: env(map[string]string{"SMILE_GREETING": "hi"})},
			[]string{"-healthcheck"}, nil, "[::]:8000", "hi", true},
		{"its own flags win", serverProc{args: []string{"-listen", ":8000", "-greeting", "a"}}, []string{"-healthcheck", "-listen", ":8002", "-greeting", "b"}, nil, ":8002", "b", false},
		{"unreadable environment: its own", serverProc{args: []string{"-listen", ":8000"}}, []string{"-healthcheck"},
			map[string]string{"SMILE_GREETING": "from its own", "SMILE_LISTEN": ":1"}, ":8000", "from its own", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := healthConfig(c.srv, c.args, env(c.own))
			require.NoError(t, err)
			assert.Equal(t, c.listen, cfg.Listen[0].String())
			assert.Equal(t, c.greets, cfg.Greeting)
			assert.Equal(t, c.v6only, cfg.V6Only)
			assert.True(t, cfg.Healthcheck)
		})
	}
	_, err := healthConfig(serverProc{args: []string{"-nope"}}, nil, env(nil))
	assert.EqualError(t, err, "flag provided but not defined: -nope")
}

// TestHealthcheckWithTheServersProcHidden: a health check running as
// another user can read neither the server's environment nor its
// executable's path in /proc; it still finds the server by its program
// name and takes the SMILE_* variables from its own environment, which in
// one container is the server's too. Needs root, to run the two as other
// users.
func TestHealthcheckWithTheServersProcHidden(t *testing.T) {
	needProc(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and setpriv (util-linux) to run the server and the check as two other users")
	}
	dir, err := os.MkdirTemp("", "smile-hidden") //nolint:usetesting // must be readable by other users
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "greeter")
	b, err := os.ReadFile(serverBinary(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, b, 0o755))
	as := func(uid int) []string {
		id := strconv.Itoa(uid)
		return []string{setpriv, "--reuid=" + id, "--regid=" + id, "--clear-groups", "--"}
	}
	env := []string{"SMILE_GREETING=from the environment"}
	port := smiletest.FreePort(t)
	srv := smiletest.Start(t, bin, smiletest.Options{Wrapper: as(65532), Ready: "SERVER started", Env: env},
		"-resolve=false", "-listen", fmt.Sprintf("127.0.0.1:%d", port))
	needNativeProc(t, srv.Pid(), bin)
	p := smiletest.Start(t, bin, smiletest.Options{Wrapper: as(65533), Env: env}, "-healthcheck")
	<-p.Done()
	assert.Equal(t, 0, p.Cmd.ProcessState.ExitCode(), p.Err.String())
	assert.Equal(t, fmt.Sprintf("healthy: 127.0.0.1:%d greeted %q\n", port, "from the environment"), p.Out.String())
}

// needNativeProc skips a test whose health check must recognise the
// server pid runs (bin) in /proc where it cannot: binfmt_misc runs an
// emulated program as its emulator, and other processes see qemu-user's
// executable and command line.
func needNativeProc(t *testing.T, pid int, bin string) {
	t.Helper()
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe != bin {
		t.Skipf("the server's /proc shows %s, not the program: emulated (make unit-arm64)", exe)
	}
}
