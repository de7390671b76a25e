package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/smile-sockets/smile/internal/smiletest/doccheck"
)

// composeClients are the demo's client services, as in docker-compose.yml
// and the Makefile's CLIENTS.
var composeClients = []string{"client-ipv4", "client-hostname", "client-ipv6", "client-each"}

// composeMeshNodes are the mesh demo's nodes (profile "mesh"), as in
// docker-compose.yml and the Makefile's MESH_NODES.
var composeMeshNodes = []string{"mesh-a", "mesh-b", "mesh-c", "mesh-d"}

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

// composeProject is the demo of docker-compose.yml in dir, run under a
// unique project name, on subnets from the suite's pool, with the run's
// labels on everything it creates (an override file in a temporary
// directory, never in the repository).
type composeProject struct {
	cli      []string
	dir      string   // holds docker-compose.yml
	name     string   // -p
	override string   // -f, after docker-compose.yml
	env      []string // TAG, SMILE_NET4, SMILE_NET6 on top of the test's own
	profiles []string // --profile, for every command
}

// newComposeProject prepares a project on dir's docker-compose.yml whose
// images are tagged tag. buildArgs, if any, go to every service's build.
func newComposeProject(t *testing.T, dir, name, tag string, buildArgs map[string]string) *composeProject {
	t.Helper()
	labels := runLabels()
	service := map[string]any{"labels": labels}
	if buildArgs != nil {
		service["build"] = map[string]any{"args": buildArgs, "labels": labels}
	}
	services := map[string]any{"server": service}
	for _, svc := range append(slices.Clone(composeClients), composeMeshNodes...) {
		services[svc] = service
	}
	// A network of an override replaces the file's, so it is the file's
	// with the labels added.
	var file struct {
		Networks map[string]map[string]any `yaml:"networks"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "docker-compose.yml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, &file))
	for _, nw := range file.Networks {
		nw["labels"] = labels
	}
	// JSON is YAML: both compose CLIs read it.
	override, err := json.MarshalIndent(map[string]any{"services": services, "networks": file.Networks}, "", "  ")
	require.NoError(t, err)
	overrideFile := filepath.Join(t.TempDir(), "labels.yml")
	require.NoError(t, os.WriteFile(overrideFile, override, 0o600))
	return &composeProject{cli: composeCLI(t), dir: dir, name: name, override: overrideFile, env: append(os.Environ(), "TAG="+tag)}
}

// run runs one compose command on the project and returns its output.
func (c *composeProject) run(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	argv := append(slices.Clone(c.cli[1:]), "-p", c.name, "-f", "docker-compose.yml", "-f", c.override)
	for _, p := range c.profiles {
		argv = append(argv, "--profile", p)
	}
	argv = append(argv, args...)
	cmd := exec.CommandContext(ctx, c.cli[0], argv...)
	cmd.Dir, cmd.Env = c.dir, c.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// services lists the services of the project's containers, as Docker
// labels them, sorted: what `up` really started, whatever the compose CLI
// lists as configured (docker-compose 1.29's `config --services` and `ps
// --services` ignore profiles).
func (c *composeProject) services(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := suite.docker.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: client.Filters{}.Add("label", "com.docker.compose.project="+c.name)})
	require.NoError(t, err)
	var names []string
	for _, ctr := range list.Items {
		names = append(names, ctr.Labels["com.docker.compose.service"])
	}
	slices.Sort(names)
	return names
}

// removeNetworks removes what networks of the project compose down left.
func (c *composeProject) removeNetworks(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := suite.docker.NetworkList(ctx, client.NetworkListOptions{
		Filters: client.Filters{}.Add("label", "com.docker.compose.project="+c.name)})
	if err != nil {
		t.Errorf("listing the networks compose down left: %v", err)
		return
	}
	for _, nw := range list.Items {
		removeNetwork(t, nw.ID, nw.Name)
	}
}

// up starts the demo detached (building what is missing, within timeout)
// on leased subnets, registers its teardown, and returns up's output. With
// services named, it starts those alone.
func (c *composeProject) up(t *testing.T, timeout time.Duration, services ...string) string {
	t.Helper()
	var out string
	withSubnets(t, func(l lease) error {
		t.Cleanup(func() {
			out, err := c.run(time.Minute, "down", "--volumes", "--remove-orphans", "--timeout", "10")
			if err != nil && strings.Contains(out, "has active endpoints") {
				// Every container is gone, but the daemon may keep counting
				// one on the network (moby/moby#43286): removeNetwork tells
				// that from a container really left on it.
				c.removeNetworks(t)
			} else if err != nil {
				t.Errorf("compose down: %v\n%s", err, out)
			}
		})
		v4s, v6s := l.v4.Addr().String(), l.v6.Addr().String()
		c.env = append(c.env,
			"SMILE_NET4="+v4s[:strings.LastIndex(v4s, ".")], // three octets
			"SMILE_NET6="+strings.TrimSuffix(v6s, "::"),     // the /64 prefix
		)
		var err error
		if out, err = c.run(timeout, append([]string{"up", "-d"}, services...)...); err != nil {
			return fmt.Errorf("compose up: %w\n%s", err, out)
		}
		return nil
	})
	return out
}

// checkDemo asserts what a user of the demo sees: every client exits 0
// with its greeting (-each: every address of the server's name), and the
// server logs a connection from each client by the name Docker's DNS gives
// it.
func (c *composeProject) checkDemo(t *testing.T) {
	t.Helper()
	for _, svc := range composeClients {
		t.Run(svc, func(t *testing.T) {
			out, err := c.run(time.Minute, "ps", "-a", "-q", svc)
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
				checkEachSample(t, stdout)
				return
			}
			assert.Equal(t, greeting, stdout, "stdout of %s", svc)
		})
	}
	t.Run("server names every client", func(t *testing.T) {
		// The server names a peer after it has greeted it: poll briefly.
		var log string
		missing := composeClients
		for deadline := time.Now().Add(10 * time.Second); len(missing) > 0 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			out, err := c.run(time.Minute, "logs", "--no-color", "server")
			require.NoError(t, err, out)
			log, missing = out, clientsNotLogged(out)
		}
		assert.Empty(t, missing, "clients with no `Connection received from NAME (ADDR)` line naming them:\n%s", log)
		assert.Regexp(t, `SERVER started on port 7890 \(listening on \[::\]:7890, dual-stack\)`, log)
	})
	if t.Failed() {
		out, _ := c.run(time.Minute, "logs", "--no-color")
		t.Logf("compose logs:\n%s", out)
	}
}

// checkEachSample holds the sample of client-each's table in
// docs/containers.md to this run of the demo. The subnets are the ones the
// test leased, and the padding of the columns follows the addresses'
// lengths, so every address, every time and every run of spaces is
// replaced before comparing; the rest must match.
func checkEachSample(t *testing.T, stdout string) {
	t.Helper()
	doccheck.CheckSample(t, "../docs/containers.md", "compose-each", stdout,
		doccheck.Rule{Re: regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b`), Repl: "<ipv4>"},
		doccheck.Rule{Re: regexp.MustCompile(`\[[0-9a-f:]+\]`), Repl: "[<ipv6>]"},
		doccheck.Rule{Re: regexp.MustCompile(`\d+\.\d+ms`), Repl: "Nms"},
		doccheck.Rule{Re: regexp.MustCompile(` +`), Repl: " "})
}

// connectionLine is the server's log line for one peer, by name.
var connectionLine = regexp.MustCompile(`Connection received from (\S+) \(([0-9a-f.:]+)\)`)

// clientsNotLogged returns the client services that no connection line of
// the server's log names. Docker's DNS names a container PROJECT_SERVICE_N
// (v1) or PROJECT-SERVICE-N (v2), followed by the network's name.
func clientsNotLogged(serverLog string) []string {
	var missing []string
	for _, svc := range composeClients {
		found := false
		for _, m := range connectionLine.FindAllStringSubmatch(serverLog, -1) {
			found = found || strings.Contains(m[1], svc)
		}
		if !found {
			missing = append(missing, svc)
		}
	}
	return missing
}

// TestCompose brings the repository's docker-compose.yml up with the images
// of `make images`, as `make up` does, and checks the demo: its five
// services alone are started (not the mesh's, in a profile), all three
// clients (dotted IPv4, hostname, IPv6 literal) are greeted, -each greets
// every address, and the server names each client. It is torn down even on
// failure.
func TestCompose(t *testing.T) {
	t.Parallel()
	serverImage, _ := requireImages(t)
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	tag := serverImage[strings.LastIndex(serverImage, ":")+1:]
	p := newComposeProject(t, root, "smile-it-"+runID, tag, nil)
	p.up(t, 3*time.Minute)
	// The mesh's nodes are in a profile: a plain up leaves them out.
	want := append(slices.Clone(composeClients), "server")
	slices.Sort(want)
	assert.Equal(t, want, p.services(t), "the services `up` started")
	p.checkDemo(t)
}
