package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// workflowsDir holds the GitHub workflows, seen from this package.
const workflowsDir = "../../.github/workflows"

// TestWorkflowImages holds every workflow to the images the Makefile
// builds: an image a job's scripts name (kind.yml's check that every node
// has the images, for one) must be one that the job's own make commands
// build. A name written into a workflow by hand drifts when the Makefile's
// names change, and the job then fails on GitHub, not here.
func TestWorkflowImages(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(workflowsDir, "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			problems, err := checkWorkflowImages("../..", filepath.Base(f), data)
			require.NoError(t, err)
			assert.Empty(t, problems)
		})
	}
}

// TestCheckWorkflowImagesRejects proves the check bites: each case names,
// in a copy of a workflow, an image the job does not build.
func TestCheckWorkflowImagesRejects(t *testing.T) {
	cases := []struct {
		name, file, old, new, want string
	}{
		{"kind checks an image it never loaded", "kind.yml",
			`images=$(make -s published-names | cut -d= -f2)`, `images="smile-server:dev smile-client:dev"`,
			`kind.yml: job cluster, step "Check every node has the images": image docker.io/library/smile-server:dev is not one the job's make commands build ([ghcr.io/smile-sockets/smile-client:latest ghcr.io/smile-sockets/smile-server:latest])`},
		{"kind checks another tag", "kind.yml",
			`images=$(make -s published-names | cut -d= -f2)`, `images=ghcr.io/smile-sockets/smile-client:dev`,
			`kind.yml: job cluster, step "Check every node has the images": image ghcr.io/smile-sockets/smile-client:dev is not one the job's make commands build`},
		{"image named where nothing is built", "ci.yml",
			"- run: make lint", "- run: docker run --rm smile-server:dev -version",
			`ci.yml: job lint, step "docker run --rm smile-server:dev -version": image docker.io/library/smile-server:dev is not one the job's make commands build ([])`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(workflowsDir, c.file))
			require.NoError(t, err)
			require.Equal(t, 1, bytes.Count(data, []byte(c.old)), "%s holds %q once", c.file, c.old)
			broken := bytes.Replace(data, []byte(c.old), []byte(c.new), 1)
			problems, err := checkWorkflowImages("../..", c.file, broken)
			require.NoError(t, err)
			require.NotEmpty(t, problems)
			assert.Contains(t, strings.Join(problems, "\n"), c.want)
		})
	}
}

// workflow is the part of a GitHub workflow the image check reads.
type workflow struct {
	Jobs map[string]struct {
		Steps []workflowStep `json:"steps"`
	} `json:"jobs"`
}

// workflowStep is one step of a job: its name and its shell script.
type workflowStep struct {
	Name string `json:"name"`
	Run  string `json:"run"`
}

// imageRef finds an image of this repository named with a tag, with or
// without a registry and path: smile-server:dev,
// ghcr.io/smile-sockets/smile-client:latest. A name with a shell variable
// or an expression in it ($ARCH, ${{ … }}) is assembled by the script
// itself and is not checked.
var imageRef = regexp.MustCompile(`(?:[\w.-]+(?::\d+)?/)*smile-(?:server|client):[\w.$-]+`)

// makeLine is a script line that runs make.
var makeLine = regexp.MustCompile(`^\s*make\s+(.*)$`)

// checkWorkflowImages returns a problem for every image named in a run
// step of workflow file that none of its job's make commands builds, as
// `make -n` of those commands shows.
func checkWorkflowImages(root, file string, data []byte) ([]string, error) {
	var wf workflow
	// Only the fields above are read; the others are actionlint's to check.
	if err := yaml.Unmarshal(data, &wf); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var problems []string
	jobs := make([]string, 0, len(wf.Jobs))
	for id := range wf.Jobs {
		jobs = append(jobs, id)
	}
	slices.Sort(jobs)
	for _, id := range jobs {
		job := wf.Jobs[id]
		var built []string
		builtKnown := false
		for _, step := range job.Steps {
			for _, ref := range imageRef.FindAllString(step.Run, -1) {
				if strings.Contains(ref, "$") {
					continue
				}
				if !builtKnown {
					var err error
					if built, err = jobImages(root, job.Steps); err != nil {
						return nil, fmt.Errorf("%s: job %s: %w", file, id, err)
					}
					builtKnown = true
				}
				if ref = normalImage(ref); !slices.Contains(built, ref) {
					name := step.Name
					if name == "" {
						name = strings.TrimSpace(step.Run)
					}
					problems = append(problems, fmt.Sprintf("%s: job %s, step %q: image %s is not one the job's make commands build (%v)",
						file, id, name, ref, built))
				}
			}
		}
	}
	return problems, nil
}

// jobImages is every image the make commands of steps would build or
// name, from `make -n` of each (make runs nothing but its recursive
// $(MAKE) lines, which -n passes on), sorted.
func jobImages(root string, steps []workflowStep) ([]string, error) {
	images := []string{}
	for _, step := range steps {
		for line := range strings.Lines(step.Run) {
			m := makeLine.FindStringSubmatch(strings.TrimRight(line, "\n"))
			if m == nil {
				continue
			}
			if strings.Contains(m[1], "${{") || strings.ContainsAny(m[1], `"'$\`) {
				return nil, fmt.Errorf("step %q: can't dry-run %q: its arguments need a shell or the runner", step.Name, line)
			}
			cmd := exec.Command("make", append([]string{"-n", "--no-print-directory", "-C", root}, strings.Fields(m[1])...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				return nil, fmt.Errorf("make -n %s: %w: %s", m[1], err, stderr.Bytes())
			}
			for _, ref := range imageRef.FindAllString(string(out), -1) {
				if ref = normalImage(ref); !strings.Contains(ref, "$") && !slices.Contains(images, ref) {
					images = append(images, ref)
				}
			}
		}
	}
	slices.Sort(images)
	return images, nil
}

// normalImage spells an image reference as Docker and containerd resolve
// it: smile-server:dev is docker.io/library/smile-server:dev.
func normalImage(ref string) string {
	first, rest, ok := strings.Cut(ref, "/")
	switch {
	case !ok:
		return "docker.io/library/" + ref
	case !strings.ContainsAny(first, ".:") && first != "localhost":
		return "docker.io/" + first + "/" + rest
	}
	return ref
}
