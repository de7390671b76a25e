package kubernetes

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/smile-sockets/smile/client"
	"github.com/smile-sockets/smile/server"
)

// envOf turns a container's environment into the lookup the programs'
// parsers take. A SMILE_* variable that names no flag is an error: the
// programs would ignore it, so that is how a typo in a manifest is caught
// before a pod runs with a default it was not meant to have.
func envOf(program string, env []corev1.EnvVar, known []string) (func(string) (string, bool), error) {
	vars := map[string]string{}
	for _, e := range env {
		if strings.HasPrefix(e.Name, "SMILE_") && !slices.Contains(known, e.Name) {
			return nil, fmt.Errorf("%s: %s reads no variable %s", program, program, e.Name)
		}
		vars[e.Name] = e.Value
	}
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, nil
}

// serverConfig is what smile-server makes of a container's command line
// and environment: its own parser, run on them.
func serverConfig(argv []string, env []corev1.EnvVar) (*server.Config, error) {
	lookup, err := envOf("smile-server", env, server.Variables())
	if err != nil {
		return nil, err
	}
	cfg, err := server.ParseConfig(argv, lookup)
	if err != nil {
		return nil, fmt.Errorf("smile-server: %w", err)
	}
	return cfg, nil
}

// clientConfig is what smile-client makes of a container's command line
// and environment.
func clientConfig(argv []string, env []corev1.EnvVar) (*client.Config, error) {
	lookup, err := envOf("smile-client", env, client.Variables())
	if err != nil {
		return nil, err
	}
	cfg, err := client.ParseConfig(argv, lookup)
	if err != nil {
		return nil, fmt.Errorf("smile-client: %w", err)
	}
	return cfg, nil
}

// makefileImages asks the Makefile which images the release publishes, by
// component ("server", "client"), from its published-names target: the
// names the manifests use, and the names `make kind-images` gives a local
// build.
func makefileImages(dir string) (map[string]string, error) {
	cmd := exec.Command("make", "--no-print-directory", "-s", "-C", dir, "published-names")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("make published-names: %w: %s", err, stderr.Bytes())
	}
	images := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if component, ref, ok := strings.Cut(sc.Text(), "="); ok {
			images[component] = ref
		}
	}
	if images["server"] == "" || images["client"] == "" {
		return nil, fmt.Errorf("make published-names printed %q, want server=REF and client=REF lines", out)
	}
	return images, nil
}
