package kubernetes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smile-sockets/smile/internal/netaddr"
	"github.com/smile-sockets/smile/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The names the manifests, the README and the kind workflow agree on.
const (
	namespace     = "smile"
	serverName    = "smile-server"
	headlessName  = "smile-server-headless"
	clusterDomain = "cluster.local"
	port          = 7890
	httpPort      = 8080 // -http: the mesh's rows, the page and /metrics
	nonRootID     = 65532
)

// variant is one kustomization and the address families it promises.
type variant struct {
	dir        string
	policy     corev1.IPFamilyPolicy
	families   []corev1.IPFamily
	familyFlag string // the client's -4 or -6, "" to use both
	monitor    bool   // with a ServiceMonitor
}

var dualStack = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}

var variants = []variant{
	{".", corev1.IPFamilyPolicyPreferDualStack, dualStack, "", false},
	{"overlays/ipv4-only", corev1.IPFamilyPolicySingleStack, []corev1.IPFamily{corev1.IPv4Protocol}, "-4", false},
	{"overlays/ipv6-only", corev1.IPFamilyPolicySingleStack, []corev1.IPFamily{corev1.IPv6Protocol}, "-6", false},
	{"overlays/servicemonitor", corev1.IPFamilyPolicyPreferDualStack, dualStack, "", true},
}

// TestKustomizations builds every kustomization as kubectl apply -k would
// and checks what it produces against the programs and the Makefile.
func TestKustomizations(t *testing.T) {
	images, err := makefileImages("../..")
	require.NoError(t, err)
	for _, v := range variants {
		t.Run(v.dir, func(t *testing.T) {
			m, err := build(v.dir)
			require.NoError(t, err)
			assert.NoError(t, check(m, v, images))
		})
	}
}

// TestCheckRejectsBrokenManifests proves the checks bite: each case breaks
// one thing in a copy of the manifests, and the same build and check that
// pass the real ones must reject it, naming the cause.
func TestCheckRejectsBrokenManifests(t *testing.T) {
	images, err := makefileImages("../..")
	require.NoError(t, err)
	cases := []struct {
		name, file, old, new, want string
		variant                    int // of variants: the kustomization built
	}{
		{"misspelt field", "base/server-daemonset.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFS: true", `unknown field "spec.template.spec.containers[0].securityContext.readOnlyRootFS"`, 0},
		{"field in the wrong case", "base/server-daemonset.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", `unknown field "spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem"`, 0},
		{"duplicate field", "base/client-job.yaml", "restartPolicy: Never", "restartPolicy: Never\n      restartPolicy: OnFailure", `mapping key "restartPolicy" already defined`, 0},
		{"field of the wrong type", "base/server-daemonset.yaml", "runAsUser: 65532", `runAsUser: "65532"`, "cannot unmarshal string", 0},
		{"misspelt client flag", "base/client-job.yaml", "- -each", "- -eahc", "smile-client: flag provided but not defined: -eahc", 0}, //nolint:misspell // the typo is the point
		{"misspelt server variable", "base/server-daemonset.yaml", "SMILE_WRITE_TIMEOUT", "SMILE_WRITE_TIMOUT", "smile-server reads no variable SMILE_WRITE_TIMOUT", 0},
		{"probe without -healthcheck", "base/server-daemonset.yaml", `["/smile-server", "-healthcheck"]`, `["/smile-server", "-version"]`, "probe does not run /smile-server -healthcheck", 0},
		{"privilege escalation", "base/server-daemonset.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation must be false", 0},
		{"capabilities kept", "base/client-job.yaml", `drop: ["ALL"]`, `drop: ["NET_RAW"]`, "must drop ALL capabilities", 0},
		{"image not the published one", "base/server-daemonset.yaml", "image: ghcr.io/smile-sockets/smile-server:latest", "image: smile-server:dev", `image "smile-server:dev" is not the published one`, 0},
		{"pulled image", "base/client-job.yaml", "imagePullPolicy: IfNotPresent", "imagePullPolicy: Always", "imagePullPolicy Always", 0},
		{"one family", "base/server-services.yaml", "ipFamilies: [IPv4, IPv6]", "ipFamilies: [IPv4]", "ipFamilies [IPv4], want [IPv4 IPv6]", 0},
		{"other port", "base/server-daemonset.yaml", "containerPort: 7890", "containerPort: 7891", "no container port 7890", 0},
		{"grace shorter than the drain", "base/server-daemonset.yaml", "terminationGracePeriodSeconds: 15", "terminationGracePeriodSeconds: 5", "terminationGracePeriodSeconds 5", 0},
		{"request above its limit", "base/server-daemonset.yaml", "memory: 64Mi", "memory: 8Mi", "want a memory request no larger than its limit", 0},
		{"client probes one service", "base/client-job.yaml", "smile-server-headless.smile.svc.cluster.local", "smile-server.smile.svc.cluster.local", "no client probes smile-server-headless.smile.svc.cluster.local", 0},
		{"greeting not expected", "base/client-job.yaml", "- Smile from the server\n", "- Smile from the client\n", `-expect "Smile from the client", the server greets with "Smile from the server"`, 0},
		{"mesh against the ClusterIP Service", "base/server-daemonset.yaml", "value: smile-server-headless.smile.svc.cluster.local", "value: smile-server.smile.svc.cluster.local",
			`-mesh "smile-server.smile.svc.cluster.local", want the headless Service's name smile-server-headless.smile.svc.cluster.local`, 0},
		{"misspelt mesh variable", "base/server-daemonset.yaml", "name: SMILE_MESH_NODE", "name: SMILE_MESH_NAME", "smile-server reads no variable SMILE_MESH_NAME", 0},
		{"rows not named after nodes", "base/server-daemonset.yaml", "fieldPath: spec.nodeName", "fieldPath: metadata.name", "SMILE_MESH_NODE must come from the pod's spec.nodeName", 0},
		{"-http on loopback only", "base/server-daemonset.yaml", `value: ":8080"`, `value: "127.0.0.1:8080"`, `-http "127.0.0.1:8080", want the wildcard :8080`, 0},
		{"no -http", "base/server-daemonset.yaml", "name: SMILE_HTTP", "name: GODEBUG", `-http "", want the wildcard :8080`, 0},
		{"scrape annotation on the greeting port", "base/server-daemonset.yaml", `prometheus.io/port: "8080"`, `prometheus.io/port: "7890"`, `annotation prometheus.io/port "7890", want "8080"`, 0},
		{"headless Service without the http port", "base/server-services.yaml", "    - name: http\n      port: 8080\n      targetPort: http\n      protocol: TCP\n", "",
			"Service smile-server-headless: ports [7890], want [7890 8080]", 0},
		{"ServiceMonitor on a port no Service has", "components/servicemonitor/servicemonitor.yaml", "- port: http", "- port: metrics", `no Service it selects has a port "metrics"`, 3},
		{"misspelt ServiceMonitor field", "components/servicemonitor/servicemonitor.yaml", "scrapeTimeout: 10s", "scrapeTimout: 10s", `unknown field "spec.endpoints[0].scrapeTimout"`, 3},
		{"scrape timeout beyond its interval", "components/servicemonitor/servicemonitor.yaml", "scrapeTimeout: 10s", "scrapeTimeout: 60s", "scrapeTimeout 60s exceeds its interval 30s", 3},
		{"alert rule drifted from the rules file", "components/servicemonitor/prometheusrule.yaml", "failing_since_timestamp_seconds > 300", "failing_since_timestamp_seconds > 600",
			"PrometheusRule smile-server: groups differ from ../prometheus/smile-rules.yml at SmileMeshPathFailing", 3},
		{"misspelt rule field", "components/servicemonitor/prometheusrule.yaml", "for: 2m", "fro: 2m", `unknown field "spec.groups[0].rules[1].fro"`, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyTree(t, ".")
			replaceOnce(t, filepath.Join(dir, c.file), c.old, c.new)
			v := variants[c.variant]
			m, err := build(filepath.Join(dir, v.dir))
			if err == nil {
				err = check(m, v, images)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			t.Logf("rejected: %v", err)
		})
	}
}

// manifests are the objects one kustomization produces, decoded strictly.
type manifests struct {
	namespaces []corev1.Namespace
	daemonSets []appsv1.DaemonSet
	services   []corev1.Service
	jobs       []batchv1.Job
	monitors   []serviceMonitor
	rules      []prometheusRule
}

// build runs kustomize in-process on dir and decodes every object into its
// k8s.io/api type, refusing unknown or duplicate fields: kustomize itself
// passes a misspelt field through, and the API server would drop it
// silently (a readOnlyRootFileSystem that protects nothing).
func build(dir string) (*manifests, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	m := &manifests{}
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.GetKind(), r.GetName(), err)
		}
		switch gvk := r.GetGvk(); gvk.ApiVersion() + " " + gvk.Kind {
		case "v1 Namespace":
			err = decodeInto(y, &m.namespaces)
		case "apps/v1 DaemonSet":
			err = decodeInto(y, &m.daemonSets)
		case "v1 Service":
			err = decodeInto(y, &m.services)
		case "batch/v1 Job":
			err = decodeInto(y, &m.jobs)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			err = decodeInto(y, &m.monitors)
		case "monitoring.coreos.com/v1 PrometheusRule":
			err = decodeInto(y, &m.rules)
		default:
			err = errors.New("not a kind these manifests use")
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.GetGvk(), r.GetName(), err)
		}
	}
	return m, nil
}

// decodeInto decodes one object strictly, as the API server's strict field
// validation does, and appends it to list. encoding/json (and so
// sigs.k8s.io/yaml's UnmarshalStrict) matches field names without regard
// to case and would take readOnlyRootFileSystem for readOnlyRootFilesystem;
// the API server does not, so sigs.k8s.io/json decodes case-sensitively.
func decodeInto[T any](y []byte, list *[]T) error {
	j, err := yaml.YAMLToJSONStrict(y)
	if err != nil {
		return fmt.Errorf("strict decoding: %w", err)
	}
	var obj T
	strict, err := sigsjson.UnmarshalStrict(j, &obj, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err = errors.Join(append(strict, err)...); err != nil {
		return fmt.Errorf("strict decoding: %w", err)
	}
	*list = append(*list, obj)
	return nil
}

// problems collects every broken invariant, so that one run names them all.
type problems []error

func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Errorf(format, args...))
}

// check asserts the invariants of one variant. It returns an error rather
// than failing a test so that the same code can be shown to reject broken
// manifests.
func check(m *manifests, v variant, images map[string]string) error {
	var p problems
	if len(m.namespaces) != 1 || m.namespaces[0].Name != namespace {
		p.addf("want exactly the Namespace %q", namespace)
	}
	if len(m.daemonSets) != 1 || len(m.jobs) != 1 {
		return errors.Join(append(p, fmt.Errorf("want one DaemonSet and one Job, got %d and %d", len(m.daemonSets), len(m.jobs)))...)
	}
	ds, job := m.daemonSets[0], m.jobs[0]
	for _, meta := range []struct{ kind, name, ns string }{
		{"DaemonSet", ds.Name, ds.Namespace}, {"Job", job.Name, job.Namespace},
	} {
		if meta.ns != namespace {
			p.addf("%s %s: namespace %q, want %q", meta.kind, meta.name, meta.ns, namespace)
		}
	}
	greeting := checkServer(&p, ds, images["server"])
	checkServices(&p, m.services, ds, v)
	checkClient(&p, job, v, images["client"], greeting)
	checkServiceMonitors(&p, m.monitors, m.services, ds, v)
	checkPrometheusRules(&p, m.rules, v)
	return errors.Join(p...)
}

// checkServer checks the DaemonSet and returns the greeting its server
// sends, for the client's -expect.
func checkServer(p *problems, ds appsv1.DaemonSet, image string) string {
	where := "DaemonSet " + ds.Name
	pod := ds.Spec.Template.Spec
	if ds.Spec.Selector == nil || !selects(ds.Spec.Selector.MatchLabels, ds.Spec.Template.Labels) {
		p.addf("%s: selector does not match its pod template's labels", where)
	}
	if !slices.ContainsFunc(pod.Tolerations, func(t corev1.Toleration) bool {
		return t.Key == "node-role.kubernetes.io/control-plane" && t.Operator == corev1.TolerationOpExists
	}) {
		p.addf("%s: does not tolerate control-plane nodes, so it misses one", where)
	}
	if len(pod.Containers) != 1 {
		p.addf("%s: want one container, got %d", where, len(pod.Containers))
		return ""
	}
	c := pod.Containers[0]
	where += " container " + c.Name
	checkContainer(p, where, pod, c, image)
	cfg, err := serverConfig(argv(c), c.Env)
	if err != nil {
		p.addf("%s: %w", where, err)
		return ""
	}
	if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
		return cp.ContainerPort == port && cp.Protocol == corev1.ProtocolTCP
	}) {
		p.addf("%s: no container port %d/TCP", where, port)
	}
	for _, l := range cfg.Listen {
		if l.Kind != netaddr.Wildcard || l.Port != port {
			p.addf("%s: listens on %q, want the dual-stack wildcard :%d", where, l, port)
		}
	}
	if cfg.V6Only {
		p.addf("%s: -v6only would refuse IPv4 peers", where)
	}
	checkMesh(p, where, ds, c, cfg)
	for name, probe := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		checkProbe(p, fmt.Sprintf("%s: %s", where, name), probe)
	}
	var preStop time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	// The kubelet kills at the end of the grace period, preStop included:
	// it must cover the sleep, the drain bounded by -write-timeout and a
	// second to flush the log.
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < preStop+cfg.WriteTimeout+time.Second {
		p.addf("%s: terminationGracePeriodSeconds %v does not cover preStop %v + -write-timeout %v + 1s", where, deref(g), preStop, cfg.WriteTimeout)
	}
	return cfg.Greeting
}

// checkProbe checks that a probe runs the server's own healthcheck with
// time to finish it.
func checkProbe(p *problems, where string, probe *corev1.Probe) {
	if probe == nil || probe.Exec == nil || len(probe.Exec.Command) == 0 {
		p.addf("%s: no exec probe", where)
		return
	}
	cmd := probe.Exec.Command
	cfg, err := serverConfig(cmd[1:], nil)
	if err != nil {
		p.addf("%s: %w", where, err)
	}
	if cmd[0] != "/smile-server" || cfg == nil || !cfg.Healthcheck {
		p.addf("%s: probe does not run /smile-server -healthcheck: %q", where, cmd)
	}
	if time.Duration(probe.TimeoutSeconds)*time.Second <= server.HealthTimeout {
		p.addf("%s: timeoutSeconds %d does not cover the healthcheck's %v", where, probe.TimeoutSeconds, server.HealthTimeout)
	}
}

// checkServices checks the headless and the ClusterIP Service.
func checkServices(p *problems, services []corev1.Service, ds appsv1.DaemonSet, v variant) {
	var headless, clusterIP int
	for _, s := range services {
		where := "Service " + s.Name
		switch {
		case s.Name == headlessName && s.Spec.ClusterIP == corev1.ClusterIPNone:
			headless++
		case s.Name == serverName && s.Spec.ClusterIP == "" && (s.Spec.Type == "" || s.Spec.Type == corev1.ServiceTypeClusterIP):
			clusterIP++
		default:
			p.addf("%s: neither the headless %s nor the ClusterIP %s", where, headlessName, serverName)
		}
		if s.Namespace != namespace {
			p.addf("%s: namespace %q, want %q", where, s.Namespace, namespace)
		}
		if got := deref(s.Spec.IPFamilyPolicy); got != v.policy {
			p.addf("%s: ipFamilyPolicy %q, want %q", where, got, v.policy)
		}
		if !slices.Equal(s.Spec.IPFamilies, v.families) {
			p.addf("%s: ipFamilies %v, want %v", where, s.Spec.IPFamilies, v.families)
		}
		if !selects(s.Spec.Selector, ds.Spec.Template.Labels) {
			p.addf("%s: selector %v does not select the server pods", where, s.Spec.Selector)
		}
		// The headless Service also carries -http, for a ServiceMonitor.
		want := []int32{port}
		if s.Name == headlessName {
			want = append(want, httpPort)
		}
		var got []int32
		for _, sp := range s.Spec.Ports {
			got = append(got, sp.Port)
			if !reaches(sp, ds, sp.Port) {
				p.addf("%s: port %d does not reach the server's container port %d", where, sp.Port, sp.Port)
			}
		}
		if !slices.Equal(got, want) {
			p.addf("%s: ports %v, want %v", where, got, want)
		}
	}
	if headless != 1 || clusterIP != 1 {
		p.addf("want one headless and one ClusterIP Service, got %d and %d", headless, clusterIP)
	}
}

// checkClient checks the Job: every container probes one Service with
// -each -json, and both Services are probed.
func checkClient(p *problems, job batchv1.Job, v variant, image, greeting string) {
	pod := job.Spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		p.addf("Job %s: restartPolicy %q: a failed probe must fail the pod, not rerun in it", job.Name, pod.RestartPolicy)
	}
	probed := map[string]bool{}
	for _, c := range pod.Containers {
		where := fmt.Sprintf("Job %s container %s", job.Name, c.Name)
		checkContainer(p, where, pod, c, image)
		cfg, err := clientConfig(argv(c), c.Env)
		if err != nil {
			p.addf("%s: %w", where, err)
			continue
		}
		if !cfg.Each {
			p.addf("%s: without -each", where)
		}
		if !cfg.JSON {
			p.addf("%s: without -json", where)
		}
		for f, on := range map[string]bool{"-4": cfg.IPv4, "-6": cfg.IPv6} {
			if want := f == v.familyFlag; on != want {
				p.addf("%s: %s is %v, want %v", where, f, on, want)
			}
		}
		if cfg.Expect != greeting {
			p.addf("%s: -expect %q, the server greets with %q", where, cfg.Expect, greeting)
		}
		if cfg.Target.Kind != netaddr.Name || cfg.Target.Port != port {
			p.addf("%s: target %s, want a Service name and port %d", where, cfg.Target, port)
			continue
		}
		probed[cfg.Target.Text] = true
	}
	for _, svc := range []string{headlessName, serverName} {
		if fqdn := fmt.Sprintf("%s.%s.svc.%s", svc, namespace, clusterDomain); !probed[fqdn] {
			p.addf("Job %s: no client probes %s", job.Name, fqdn)
		}
	}
}

// checkContainer checks what every container shares: the published image,
// pulled only when missing, the hardening and the resources.
func checkContainer(p *problems, where string, pod corev1.PodSpec, c corev1.Container, image string) {
	if c.Image != image {
		p.addf("%s: image %q is not the published one (want %q, as `make published-names` says)", where, c.Image, image)
	}
	if c.ImagePullPolicy != corev1.PullIfNotPresent {
		p.addf("%s: imagePullPolicy %s: an image kind loaded must not be pulled over", where, c.ImagePullPolicy)
	}
	checkHardened(p, where, pod.SecurityContext, c.SecurityContext)
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := c.Resources.Requests[r]
		limit, hasLimit := c.Resources.Limits[r]
		if !hasReq || !hasLimit || req.IsZero() || req.Cmp(limit) > 0 {
			p.addf("%s: want a %s request no larger than its limit", where, r)
		}
	}
}

// checkHardened checks the effective security context: a container's own
// setting wins over the pod's.
func checkHardened(p *problems, where string, pod *corev1.PodSecurityContext, c *corev1.SecurityContext) {
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	if c == nil {
		c = &corev1.SecurityContext{}
	}
	if !deref(first(c.RunAsNonRoot, pod.RunAsNonRoot)) {
		p.addf("%s: runAsNonRoot must be true", where)
	}
	if u := first(c.RunAsUser, pod.RunAsUser); deref(u) != nonRootID {
		p.addf("%s: runAsUser %v, want %d", where, deref(u), nonRootID)
	}
	if g := first(c.RunAsGroup, pod.RunAsGroup); deref(g) != nonRootID {
		p.addf("%s: runAsGroup %v, want %d", where, deref(g), nonRootID)
	}
	if s := first(c.SeccompProfile, pod.SeccompProfile); s == nil || s.Type != corev1.SeccompProfileTypeRuntimeDefault {
		p.addf("%s: seccompProfile must be RuntimeDefault", where)
	}
	if c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation {
		p.addf("%s: allowPrivilegeEscalation must be false", where)
	}
	if !deref(c.ReadOnlyRootFilesystem) {
		p.addf("%s: readOnlyRootFilesystem must be true", where)
	}
	if c.Capabilities == nil || !slices.Equal(c.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(c.Capabilities.Add) > 0 {
		p.addf("%s: must drop ALL capabilities and add none", where)
	}
}

// argv is what a container passes its image's entrypoint; a command of
// its own must be the entrypoint itself.
func argv(c corev1.Container) []string {
	if len(c.Command) > 0 {
		return append(slices.Clone(c.Command[1:]), c.Args...)
	}
	return c.Args
}

// selects reports whether a non-empty selector matches labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// reaches reports whether a Service port's target is the server's
// container port want, by number or by name.
func reaches(sp corev1.ServicePort, ds appsv1.DaemonSet, want int32) bool {
	for _, c := range ds.Spec.Template.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.ContainerPort != want {
				continue
			}
			if (sp.TargetPort.IntValue() == int(want)) || (sp.TargetPort.StrVal != "" && sp.TargetPort.StrVal == cp.Name) {
				return true
			}
		}
	}
	return false
}

// first returns the first non-nil pointer.
func first[T any](ps ...*T) *T {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

// deref is *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// copyTree copies the YAML files under dir into a temporary directory,
// keeping their layout, so that a test can break a copy.
func copyTree(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("copying %s: %w", path, err)
		}
		target := filepath.Join(dst, path)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("copying %s: %w", path, err)
		}
		return os.WriteFile(target, data, 0o644)
	})
	require.NoError(t, err)
	return dst
}

// replaceOnce replaces the first old in file with new, failing if old is
// not there (a case that breaks nothing would prove nothing).
func replaceOnce(t *testing.T, file, old, new string) {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Contains(t, string(data), old, "%s no longer contains the text this case breaks", file)
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(string(data), old, new, 1)), 0o644))
}
