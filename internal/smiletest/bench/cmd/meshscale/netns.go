//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// noTrack turns connection tracking off for every packet of the
// namespace: a thousand nodes open thousands of connections a second,
// and tracked, they would fill a conntrack table and turn into false
// timeouts.
const noTrack = `table inet smilescale {
	chain pre { type filter hook prerouting priority raw; notrack; }
	chain out { type filter hook output priority raw; notrack; }
}
`

// outside makes the namespace, runs this program again inside it and
// removes the namespace afterwards, whatever the run did.
func outside(ctx context.Context, c config) error {
	if os.Geteuid() != 0 {
		return errors.New("a network namespace of its own needs root (run as root, or with sudo)")
	}
	if _, err := os.Stat(c.server); err != nil {
		return fmt.Errorf("no smile-server binary at -server %s (make build-linux): %w", c.server, err)
	}
	ns := "smile-scale-" + strconv.Itoa(os.Getpid())
	if err := run(ctx, "", "ip", "netns", "add", ns); err != nil {
		return err
	}
	defer func() { _ = run(context.Background(), "", "ip", "netns", "del", ns) }()
	for _, step := range [][]string{
		{"ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"},
		{"ip", "netns", "exec", ns, "nft", "-f", "-"},
	} {
		stdin := ""
		if step[len(step)-1] == "-" {
			stdin = noTrack
		}
		if err := run(ctx, stdin, step...); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program to run it in %s: %w", ns, err)
	}
	args := append([]string{"netns", "exec", ns, self, "-inner", ns}, os.Args[1:]...)
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("the run inside %s: %w", ns, err)
	}
	return nil
}

// run runs one setup command, its output in the error when it fails.
func run(ctx context.Context, stdin string, argv ...string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
