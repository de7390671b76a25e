package integration

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/smile-sockets/smile/internal/smiletest/procfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
	"go.yaml.in/yaml/v3"
)

// nonRoot is the numeric user both images run as.
const nonRoot = "65532:65532"

// hardened runs a container as the compose demo does, and as strictly as
// Docker allows: read-only root, no capability, no-new-privileges, and the
// non-root user given explicitly.
var hardened = testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
	hc.ReadonlyRootfs = true
	hc.CapDrop = []string{"ALL"}
	hc.SecurityOpt = []string{"no-new-privileges:true"}
})

var asNonRoot = testcontainers.WithConfigModifier(func(c *container.Config) { c.User = nonRoot })

// TestImagesHoldOnlyTheBinary exports each image's filesystem (docker
// create + docker export) and lists it: one executable, the program, and
// nothing else but the mount points Docker adds; no shell to start.
func TestImagesHoldOnlyTheBinary(t *testing.T) {
	t.Parallel()
	serverImage, clientImage := requireImages(t)
	for _, tc := range []struct{ image, binary string }{
		{serverImage, "smile-server"},
		{clientImage, "smile-client"},
	} {
		t.Run(tc.binary, func(t *testing.T) {
			t.Parallel()
			img, err := suite.docker.ImageInspect(context.Background(), tc.image)
			require.NoError(t, err)
			assert.Equal(t, nonRoot, img.Config.User)

			id := createOnly(t, tc.image, nil)
			files := exportedFiles(t, id)
			var own []string
			for name, e := range files {
				if dockerAdds[name] {
					assert.Zero(t, e.Size, "%s, added by Docker, is empty", name)
					continue
				}
				own = append(own, name)
			}
			assert.Equal(t, []string{tc.binary}, own, "the image holds the binary alone")
			if bin, ok := files[tc.binary]; assert.True(t, ok) {
				assert.Equal(t, byte(tar.TypeReg), bin.Typeflag)
				assert.Equal(t, os.FileMode(0o755), bin.Perm(), "executable, writable by its owner only")
				assert.Zero(t, bin.Uid, "owned by root, so the non-root user cannot replace it")
			}
			t.Logf("%s exports %d entries: %v", tc.image, len(files), slices.Sorted(maps.Keys(files)))

			// And the daemon agrees: there is nothing to exec as a shell.
			sh := createOnly(t, tc.image, []string{"/bin/sh"})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err = suite.docker.ContainerStart(ctx, sh, client.ContainerStartOptions{})
			require.Error(t, err, "--entrypoint /bin/sh must not start")
			assert.Contains(t, err.Error(), "no such file or directory")
		})
	}
}

// dockerAdds are the mount points and placeholders Docker puts into every
// container's filesystem, whatever the image holds.
var dockerAdds = map[string]bool{
	".dockerenv": true, "dev": true, "dev/console": true, "dev/pts": true, "dev/shm": true,
	"etc": true, "etc/hostname": true, "etc/hosts": true, "etc/mtab": true, "etc/resolv.conf": true,
	"proc": true, "sys": true,
}

// entry is one exported file's type and mode.
type entry struct {
	*tar.Header
}

func (e entry) Perm() os.FileMode { return os.FileMode(e.Mode).Perm() }

// createOnly creates (never starts unless asked) a container of image,
// removed at the end of the test; entrypoint overrides the image's.
func createOnly(t *testing.T, image string, entrypoint []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := suite.docker.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: containerName(t, "export"),
		Config: &container.Config{
			Image:      image,
			Entrypoint: entrypoint,
			Labels:     runLabels(),
		},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	if res.ID != "" {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := suite.docker.ContainerRemove(ctx, res.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
				t.Errorf("removing container %s: %v", res.ID, err)
			}
		})
	}
	require.NoError(t, err)
	return res.ID
}

// exportedFiles lists a container's filesystem from docker export.
func exportedFiles(t *testing.T, id string) map[string]entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rc, err := suite.docker.ContainerExport(ctx, id, client.ContainerExportOptions{})
	require.NoError(t, err)
	defer func() { _ = rc.Close() }()
	files := map[string]entry{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		files[strings.TrimSuffix(strings.TrimPrefix(filepath.Clean("/"+h.Name), "/"), "/")] = entry{h}
	}
	return files
}

// TestServerNeedsNoPrivilege runs the server image with a read-only root,
// every capability dropped, no-new-privileges and the non-root user, and
// greets it from an equally hardened client container on port 7890. The
// kernel's view of the server process (from /proc on the Docker host)
// confirms what docker inspect says.
func TestServerNeedsNoPrivilege(t *testing.T) {
	t.Parallel()
	serverImage, clientImage := requireImages(t)
	nw := newNetwork(t)
	srv := run(t, serverImage, append(common(t, containerName(t, "server")),
		network.WithNetwork([]string{"smile"}, nw.DockerNetwork),
		fixedAddrs(nw, 201),
		hardened, asNonRoot, noHealthcheck,
		testcontainers.WithWaitStrategy(wait.ForLog("SERVER started").WithStartupTimeout(30*time.Second)),
	)...)

	info, err := srv.Inspect(context.Background())
	require.NoError(t, err)
	assert.Equal(t, nonRoot, info.Config.User)
	assert.True(t, info.HostConfig.ReadonlyRootfs, "read-only root filesystem")
	assert.Equal(t, []string{"ALL"}, info.HostConfig.CapDrop)
	assert.Empty(t, info.HostConfig.CapAdd)
	assert.False(t, info.HostConfig.Privileged)
	assert.Contains(t, info.HostConfig.SecurityOpt, "no-new-privileges:true")
	assert.Empty(t, info.Mounts, "no volume: the server writes nowhere")

	if fields, err := procfs.ReadStatusFields(info.State.Pid); err == nil {
		assert.Equal(t, "0000000000000000", fields["CapEff"], "no effective capability")
		assert.Equal(t, "0000000000000000", fields["CapPrm"], "no permitted capability")
		assert.Equal(t, "1", fields["NoNewPrivs"])
		assert.Equal(t, "65532", strings.Fields(fields["Uid"])[0])
		assert.Equal(t, "65532", strings.Fields(fields["Gid"])[0])
	} else {
		t.Logf("the server's /proc entry is out of reach (%v): docker inspect is the proof", err)
	}

	i := nw.nextClient(t)
	v4, _ := nw.host(i)
	res := runOnce(t, clientImage, append(common(t, containerName(t, "client")),
		testcontainers.WithCmd("smile", port),
		network.WithNetwork(nil, nw.DockerNetwork),
		fixedAddrs(nw, i),
		hardened, asNonRoot,
	)...)
	assert.Equal(t, 0, res.exit, "%v", res)
	assert.Equal(t, greeting, res.stdout, "%v", res)
	stdout, _ := logs(t, srv)
	assert.Contains(t, stdout, "("+v4.String()+")", "the server logged the hardened client")
	stopServer(t, srv)
}

// TestComposeServicesAreHardened reads docker-compose.yml (anchors and
// merge keys resolved) and requires every service to run read-only, with
// every capability dropped, no-new-privileges, no privileged mode or added
// capability, and no user other than the images' non-root one; a port it
// publishes is published on the host's loopback only.
func TestComposeServicesAreHardened(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	require.NoError(t, err)
	var doc struct {
		Services map[string]struct {
			Image       string   `yaml:"image"`
			User        *string  `yaml:"user"`
			ReadOnly    bool     `yaml:"read_only"`
			CapDrop     []string `yaml:"cap_drop"`
			CapAdd      []string `yaml:"cap_add"`
			SecurityOpt []string `yaml:"security_opt"`
			Privileged  bool     `yaml:"privileged"`
			Volumes     []any    `yaml:"volumes"`
			Tmpfs       any      `yaml:"tmpfs"`
			Ports       []string `yaml:"ports"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	require.Len(t, doc.Services, 9, "the server, four clients and the four nodes of the mesh")
	for name, svc := range doc.Services {
		t.Run(name, func(t *testing.T) {
			assert.True(t, strings.HasPrefix(svc.Image, "smile-server:") || strings.HasPrefix(svc.Image, "smile-client:"), "image %q", svc.Image)
			assert.True(t, svc.ReadOnly, "read_only")
			assert.Equal(t, []string{"ALL"}, svc.CapDrop, "cap_drop")
			assert.Empty(t, svc.CapAdd, "cap_add")
			assert.False(t, svc.Privileged, "privileged")
			assert.True(t, slices.ContainsFunc(svc.SecurityOpt, noNewPrivileges), "security_opt %q", svc.SecurityOpt)
			assert.Empty(t, svc.Volumes, "no writable volume")
			assert.Nil(t, svc.Tmpfs, "no writable tmpfs")
			if svc.User != nil {
				assert.Equal(t, nonRoot, *svc.User, "user")
			}
			for _, p := range svc.Ports {
				assert.True(t, strings.HasPrefix(p, "127.0.0.1:"), "port %q is published beyond the host's loopback", p)
			}
		})
	}
}

// noNewPrivileges accepts the spellings Docker accepts for the option.
func noNewPrivileges(opt string) bool {
	k, v, hasValue := strings.Cut(opt, ":")
	if !hasValue {
		k, v, hasValue = strings.Cut(opt, "=")
	}
	if k != "no-new-privileges" {
		return false
	}
	if !hasValue {
		return true
	}
	b, err := strconv.ParseBool(v)
	return err == nil && b
}
