package integration

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestComposeMesh brings the mesh profile of docker-compose.yml up as
// `make mesh-up` does (its four nodes alone, by name) with the images of
// `make images`, and requires every ordered pair greeted over both
// families on the page of mesh-a, published on the host's loopback only.
// (TestCompose checks that a plain `up` leaves the profile out.) It is
// torn down even on failure.
func TestComposeMesh(t *testing.T) {
	t.Parallel()
	serverImage, _ := requireImages(t)
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	tag := serverImage[strings.LastIndex(serverImage, ":")+1:]
	p := newComposeProject(t, root, "smile-it-mesh-"+runID, tag, nil)
	p.profiles = []string{"mesh"}              // for down, which removes only what the profiles name
	p.env = append(p.env, "SMILE_MESH_PORT=0") // a free port Docker picks
	start := time.Now()
	p.up(t, 3*time.Minute, composeMeshNodes...)
	assert.Equal(t, composeMeshNodes, p.services(t), "the services `up` started")

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
