package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// composeCLI returns the compose command that exists: the `docker compose`
// plugin (v2) or else docker-compose (v1.29), as the Makefile picks it.
func composeCLI(t *testing.T) []string {
	t.Helper()
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if path, err := exec.LookPath("docker-compose"); err == nil {
		return []string{path}
	}
	if inCI() {
		t.Fatal("neither `docker compose` nor docker-compose is installed")
	}
	t.Skip("neither `docker compose` nor docker-compose is installed")
	return nil
}

// TestCompose brings the repository's docker-compose.yml up under a unique
// project name and subnets, and checks that all three clients (dotted IPv4,
// hostname, IPv6 literal) are greeted and that -each greets every address. It is torn down even on failure.
func TestCompose(t *testing.T) {
	t.Parallel()
	serverImage, _ := requireImages(t)
	cli := composeCLI(t)
	root, err := filepath.Abs("..")
	require.NoError(t, err)

	project := "smile-it-" + runID
	var env []string
	compose := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, cli[0], append(append(cli[1:], "-p", project, "-f", "docker-compose.yml"), args...)...)
		cmd.Dir, cmd.Env = root, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}

	// The project's network takes its subnets from the suite's pool too.
	withSubnets(t, func(l lease) error {
		t.Cleanup(func() {
			if out, err := compose("down", "--volumes", "--remove-orphans", "--timeout", "10"); err != nil {
				t.Errorf("compose down: %v\n%s", err, out)
			}
		})
		v4s, v6s := l.v4.Addr().String(), l.v6.Addr().String()
		env = append(os.Environ(),
			"TAG="+serverImage[strings.LastIndex(serverImage, ":")+1:],
			"SMILE_NET4="+v4s[:strings.LastIndex(v4s, ".")], // three octets
			"SMILE_NET6="+strings.TrimSuffix(v6s, "::"),     // the /64 prefix
		)
		out, err := compose("up", "-d")
		if err != nil {
			return fmt.Errorf("compose up: %w\n%s", err, out)
		}
		return nil
	})

	for _, svc := range []string{"client-ipv4", "client-hostname", "client-ipv6", "client-each"} {
		t.Run(svc, func(t *testing.T) {
			out, err := compose("ps", "-a", "-q", svc)
			require.NoError(t, err, out)
			id := strings.TrimSpace(out)
			require.NotEmpty(t, id, "no container for %s", svc)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			wait := suite.docker.ContainerWait(ctx, id, client.ContainerWaitOptions{})
			select {
			case res := <-wait.Result:
				assert.Equal(t, int64(0), res.StatusCode, "exit code of %s", svc)
			case err := <-wait.Error:
				require.NoError(t, err)
			}
			stdout, _, err := containerLogs(ctx, id)
			require.NoError(t, err)
			if svc == "client-each" {
				// The server's name has one A and one AAAA record here.
				assert.True(t, strings.HasSuffix(stdout, "\n3 targets: 3 ok, 0 failed\n"), "stdout of %s: %q", svc, stdout)
				return
			}
			assert.Equal(t, greeting, stdout, "stdout of %s", svc)
		})
	}
	if t.Failed() {
		out, _ := compose("logs", "--no-color")
		t.Logf("compose logs:\n%s", out)
	}
}
