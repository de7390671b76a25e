package integration

import (
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// TestListenNameOnAHostWithoutIPv6: localhost names ::1 in the container's
// /etc/hosts, but a host with IPv6 disabled everywhere cannot bind it; only
// there may the server skip the address, and its start line says so.
func TestListenNameOnAHostWithoutIPv6(t *testing.T) {
	t.Parallel()
	image, _ := requireImages(t)
	srv := run(t, image, append(common(t, containerName(t, "nov6")),
		testcontainers.WithCmd("-resolve=false", "-listen", "localhost:7890"),
		noHealthcheck,
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.NetworkMode = "none"
			hc.Sysctls = map[string]string{"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
		}),
		testcontainers.WithWaitStrategy(wait.ForLog("SERVER started").WithStartupTimeout(30*time.Second)),
	)...)
	stdout, _ := logs(t, srv)
	assert.Contains(t, stdout, "SERVER started on port 7890 (listening on 127.0.0.1:7890, IPv4 only; [::1]:7890 skipped: no IPv6 on this host)\n")
	stopServer(t, srv)
}
