package integration

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestComposeMesh brings docker-compose.yml up with the mesh profile, as
// `docker compose --profile mesh up` does, with the images of `make
// images`: beside the demo, four mesh nodes under one alias, and the
// matrix on mesh-a's page, published on the host's loopback, shows every
// ordered pair greeted over both families. It is torn down even on
// failure.
func TestComposeMesh(t *testing.T) {
	t.Parallel()
	serverImage, _ := requireImages(t)
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	tag := serverImage[strings.LastIndex(serverImage, ":")+1:]
	p := newComposeProject(t, root, "smile-it-mesh-"+runID, tag, nil)
	p.profiles = []string{"mesh"}
	p.env = append(p.env, "SMILE_MESH_PORT=0") // a free port Docker picks
	start := time.Now()
	p.up(t, 3*time.Minute)

	out, err := p.run(time.Minute, "port", "mesh-a", meshHTTPPort)
	require.NoError(t, err, out)
	published := strings.TrimSpace(out)
	require.True(t, strings.HasPrefix(published, "127.0.0.1:"), "mesh-a's page is published on %q, not the host's loopback only", published)
	nodes := make([]*meshNode, len(composeMeshNodes))
	for i, name := range composeMeshNodes {
		nodes[i] = &meshNode{name: name, http: published}
	}
	seen, ok := awaitMatrix(t, nodes, nodes[0], expectMesh(nodes, "", nil), time.Minute)
	if !ok {
		logs, _ := p.run(time.Minute, "logs", "--no-color")
		t.Fatalf("mesh-a's /matrix.json never showed every pair ok:\n%s\n%s\ncompose logs:\n%s", strings.Join(seen.diff, "\n"), render(nodes, seen.m), logs)
	}
	t.Logf("every pair ok %v after compose up began:\n%s", seen.at.Sub(start).Round(time.Millisecond), render(nodes, seen.m))
}
