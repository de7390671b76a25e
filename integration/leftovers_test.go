package integration

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLeftovers proves `make clean-integration` (leftovers.sh dead): a
// container, a network and an image labelled by a run whose test process is
// gone are removed, and what a running process labelled stays.
func TestLeftovers(t *testing.T) {
	t.Parallel()
	serverImage, _ := requireImages(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// A pid that no process has any more: a child that has exited.
	child := exec.Command("true")
	require.NoError(t, child.Run())
	host, err := os.Hostname()
	require.NoError(t, err)
	dead := []string{
		"--label", "smile.integration.run=" + runID + "-killed",
		"--label", "smile.integration.pid=" + strconv.Itoa(child.Process.Pid),
		"--label", "smile.integration.host=" + host,
	}
	var live []string
	for k, v := range runLabels() {
		live = append(live, "--label", k+"="+v)
	}
	docker := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		require.NoError(t, err, "docker %s: %s", strings.Join(args, " "), out)
		return strings.TrimSpace(string(out))
	}
	gone := func(kind, id string) bool {
		return exec.CommandContext(ctx, "docker", kind, "inspect", id).Run() != nil
	}

	deadImage := "smile-it-leftover:" + runID
	build := exec.CommandContext(ctx, "docker", append(append([]string{"build", "-q", "-t", deadImage}, dead...), "-")...)
	build.Stdin = strings.NewReader("FROM " + serverImage + "\n")
	out, err := build.CombinedOutput()
	t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", "-f", deadImage).Run() })
	require.NoError(t, err, "docker build: %s", out)
	deadNet := docker(append(append([]string{"network", "create"}, dead...), "smile-it-"+runID+"-killed")...)
	t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", deadNet).Run() })
	deadCtr := docker(append(append([]string{"create"}, dead...), deadImage)...)
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", deadCtr).Run() })
	liveCtr := docker(append(append([]string{"create"}, live...), serverImage)...)
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", liveCtr).Run() })

	out, err = exec.CommandContext(ctx, "./leftovers.sh", "dead").CombinedOutput()
	require.NoError(t, err, "leftovers.sh dead: %s", out)
	t.Logf("%s", out)
	assert.True(t, gone("container", deadCtr), "the killed run's container is still there")
	assert.True(t, gone("network", deadNet), "the killed run's network is still there")
	assert.True(t, gone("image", deadImage), "the killed run's image is still there")
	assert.False(t, gone("container", liveCtr), "a running process's container was removed")
}
