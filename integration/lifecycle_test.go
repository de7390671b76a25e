package integration

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// TestImages checks what the images of `make images` promise their users
// (checkImage); TestFromSource holds the default Dockerfile's to the same.
func TestImages(t *testing.T) {
	t.Parallel()
	serverImage, clientImage := requireImages(t)
	t.Run("smile-server", func(t *testing.T) { checkImage(t, serverImage, "smile-server") })
	t.Run("smile-client", func(t *testing.T) { checkImage(t, clientImage, "smile-client") })
}

// checkImage checks what an image of program ("smile-server" or
// "smile-client") promises: a numeric non-root user, an exec-form
// entrypoint, the port, the HEALTHCHECK through -healthcheck (there is no
// shell) and the OCI labels.
func checkImage(t *testing.T, image, program string) {
	t.Helper()
	img, err := suite.docker.ImageInspect(context.Background(), image)
	require.NoError(t, err)
	cfg := img.Config
	require.NotNil(t, cfg)
	assert.Equal(t, "65532:65532", cfg.User)
	assert.Equal(t, []string{"/" + program}, cfg.Entrypoint)
	assert.Empty(t, cfg.Cmd)
	assert.Equal(t, program, cfg.Labels["org.opencontainers.image.title"])
	for _, label := range []string{"version", "revision", "source", "licenses"} {
		assert.NotEmpty(t, cfg.Labels["org.opencontainers.image."+label], "label %s", label)
	}
	t.Logf("%s: %d bytes", image, img.Size)
	if program == "smile-server" {
		assert.Contains(t, cfg.ExposedPorts, "7890/tcp")
		require.NotNil(t, cfg.Healthcheck)
		assert.Equal(t, []string{"CMD", "/smile-server", "-healthcheck"}, cfg.Healthcheck.Test)
	} else {
		assert.Nil(t, cfg.Healthcheck)
	}
}

// TestLifecycle runs the server as the compose demo does (read-only root,
// no capabilities, no-new-privileges), waits for the image's own HEALTHCHECK
// to report healthy, has a client greeted, and stops it like docker stop:
// exit code 0 inside the grace period, with a shutdown line.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	image, _ := requireImages(t)
	nw := newNetwork(t)
	srv := run(t, image, append(common(t, containerName(t, "server")),
		network.WithNetwork([]string{"smile"}, nw.DockerNetwork),
		fixedAddrs(nw, 200),
		hardened,
		untilHealthy,
	)...)

	last := lastHealthcheck(t, srv)
	assert.Equal(t, 0, last.ExitCode, "healthcheck output %q", last.Output)

	res, _ := runClient(t, nw, "smile")
	assert.Equal(t, 0, res.exit, "%v", res)
	assert.Equal(t, greeting, res.stdout, "%v", res)

	stopServer(t, srv)
}

// TestHealthcheckFollowsTheServer: the HEALTHCHECK process inherits none of
// the server's flags, so it finds the server's process and reads its
// command line and SMILE_* environment; servers on another port, IPv6
// only, on loopback only, or started under an init (docker run --init:
// tini is PID 1, the server its child) all report healthy.
func TestHealthcheckFollowsTheServer(t *testing.T) {
	t.Parallel()
	image, _ := requireImages(t)
	nw := newNetwork(t)
	cases := []struct {
		name string
		args []string
		env  map[string]string
		init bool // docker run --init
	}{
		{"-listen :9999", []string{"-listen", ":9999"}, nil, false},
		{"-v6only", []string{"-v6only"}, nil, false},
		{"localhost only", []string{"-listen", "localhost:7890"}, nil, false},
		{"SMILE_LISTEN and SMILE_GREETING", nil, map[string]string{"SMILE_LISTEN": "0.0.0.0:8001", "SMILE_GREETING": "hello"}, false},
		{"--init, -listen :9999", []string{"-listen", ":9999"}, map[string]string{"SMILE_GREETING": "hello"}, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := run(t, image, append(common(t, containerName(t, "health")),
				testcontainers.WithCmd(c.args...),
				testcontainers.WithEnv(c.env),
				network.WithNetwork(nil, nw.DockerNetwork),
				fixedAddrs(nw, 220+i),
				testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) { hc.Init = &c.init }),
				untilHealthy,
			)...)
			assert.Regexp(t, `^healthy: \S+ greeted "`, lastHealthcheck(t, srv).Output)
		})
	}
}

// untilHealthy runs the image's own HEALTHCHECK command every 500 ms
// instead of every 10 s, and waits until it passes.
var untilHealthy testcontainers.CustomizeRequestOption = func(req *testcontainers.GenericContainerRequest) error {
	faster := testcontainers.WithConfigModifier(func(c *container.Config) {
		c.Healthcheck = &container.HealthConfig{Interval: 500 * time.Millisecond}
	})
	if err := faster.Customize(req); err != nil {
		return err
	}
	return testcontainers.WithWaitStrategy(wait.ForHealthCheck().WithStartupTimeout(time.Minute)).Customize(req)
}

// lastHealthcheck requires Docker to call the container healthy and
// returns its latest health-check run.
func lastHealthcheck(t *testing.T, srv *testcontainers.DockerContainer) *container.HealthcheckResult {
	t.Helper()
	info, err := srv.Inspect(context.Background())
	require.NoError(t, err)
	require.NotNil(t, info.State.Health)
	assert.Equal(t, container.Healthy, info.State.Health.Status)
	n := len(info.State.Health.Log)
	require.Positive(t, n)
	return info.State.Health.Log[n-1]
}
