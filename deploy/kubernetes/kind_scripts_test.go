package kubernetes

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/smile-sockets/smile/client"
)

// cluster is what kubectl would report about a kind cluster running the
// smile objects: the answers testdata/kubectl gives the kind scripts.
type cluster struct {
	nodes      []node
	servers    []serverPod
	families   []corev1.IPFamily // both Services'
	clusterIPs []string          // the ClusterIP Service's
	coreDNS    int32             // available CoreDNS replicas, of 2
	job        batchv1.JobConditionType
	// clientWaiting is why the Job pod's containers have not started ("":
	// they ran).
	clientWaiting string
	// probes is the Job's result per container and address: "ok" or the
	// class of the failure; an address absent was not probed.
	probes map[string]string
	// flaky is how many times a kubectl command line fails before it works.
	flaky map[string]int
	// matrix is the /matrix.json the first Ready server pod serves: a file
	// of testdata/matrix, which TestMesh in integration/ captured from
	// four real mesh nodes, node-a to node-d ("": it serves none).
	matrix string
}

type node struct {
	name  string
	ready bool
}

type serverPod struct {
	node    string
	ips     []string
	ready   bool
	waiting string // a container's waiting reason, e.g. ImagePullBackOff
}

// meshNodes are the nodes of the matrices in testdata/matrix, as TestMesh
// names its containers.
var meshNodes = []string{"node-a", "node-b", "node-c", "node-d"}

// healthy is a dual-stack cluster of four nodes on which every address
// greeted and every pair of nodes is ok in the mesh.
func healthy() *cluster {
	c := &cluster{
		families:   []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
		clusterIPs: []string{"10.96.100.1", "fd00:10:96::100"},
		coreDNS:    2,
		job:        batchv1.JobComplete,
		probes:     map[string]string{},
		flaky:      map[string]int{},
		matrix:     "ok.json",
	}
	for _, name := range meshNodes {
		c.addNode(name)
	}
	c.greetAll()
	return c
}

// addNode adds a Ready node with a Ready server pod, its addresses the
// next in the pod network's subnets.
func (c *cluster) addNode(name string) {
	i := len(c.nodes)
	c.nodes = append(c.nodes, node{name, true})
	c.servers = append(c.servers, serverPod{node: name, ready: true,
		ips: []string{fmt.Sprintf("10.244.%d.2", i), netip.MustParseAddr(fmt.Sprintf("fd00:10:244:%d::2", i)).String()}})
}

// ipv4Only is a healthy IPv4-only cluster.
func ipv4Only() *cluster {
	c := healthy()
	c.families, c.clusterIPs = []corev1.IPFamily{corev1.IPv4Protocol}, c.clusterIPs[:1]
	for i := range c.servers {
		c.servers[i].ips = c.servers[i].ips[:1]
	}
	c.greetAll()
	return c
}

// greetAll has the Job greet every pod and cluster IP there is.
func (c *cluster) greetAll() {
	clear(c.probes)
	for _, s := range c.servers {
		for _, ip := range s.ips {
			c.probes["pods/"+ip] = "ok"
		}
	}
	for _, ip := range c.clusterIPs {
		c.probes["service/"+ip] = "ok"
	}
}

const clientPod = "smile-client-x7k2p"

func ready(ok bool) []corev1.PodCondition {
	return []corev1.PodCondition{{Type: corev1.PodReady, Status: map[bool]corev1.ConditionStatus{true: corev1.ConditionTrue, false: corev1.ConditionFalse}[ok]}}
}

// record writes what kubectl answers, one file per command line.
func (c *cluster) record(t *testing.T, dir string) {
	t.Helper()
	files := map[string]any{}

	var nodes corev1.NodeList
	for _, n := range c.nodes {
		status := map[bool]corev1.ConditionStatus{true: corev1.ConditionTrue, false: corev1.ConditionFalse}[n.ready]
		nodes.Items = append(nodes.Items, corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: n.name},
			Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}},
		})
	}
	files["get_nodes_-o_json"] = nodes

	var pods corev1.PodList
	readyServers := int32(0)
	for i, s := range c.servers {
		pod := corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("smile-server-%d", i), Labels: map[string]string{"app.kubernetes.io/name": "smile-server"}},
			Spec:       corev1.PodSpec{NodeName: s.node},
			Status:     corev1.PodStatus{Conditions: ready(s.ready)},
		}
		for _, ip := range s.ips {
			pod.Status.PodIPs = append(pod.Status.PodIPs, corev1.PodIP{IP: ip})
		}
		state := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
		if s.waiting != "" {
			state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: s.waiting, Message: `Back-off pulling image "smile-server:dev"`}}
		}
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "smile-server", Image: "smile-server:dev", State: state}}
		if s.ready {
			readyServers++
		}
		pods.Items = append(pods.Items, pod)
	}
	client := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: clientPod, Labels: map[string]string{"batch.kubernetes.io/job-name": "smile-client", "job-name": "smile-client"}}}
	for _, name := range []string{"pods", "service"} {
		state := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}
		if c.clientWaiting != "" {
			state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: c.clientWaiting, Message: `Back-off pulling image "smile-client:dev"`}}
		}
		client.Status.ContainerStatuses = append(client.Status.ContainerStatuses, corev1.ContainerStatus{Name: name, Image: "smile-client:dev", State: state})
	}
	pods.Items = append(pods.Items, client)
	files["get_pods_-o_json"] = pods

	job := batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "smile-client"}}
	if c.job != "" {
		job.Status.Conditions = []batchv1.JobCondition{{Type: c.job, Status: corev1.ConditionTrue}}
	}
	files["get_job_smile-client_-o_json"] = job

	services := corev1.ServiceList{Items: []corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "smile-server-headless"}, Spec: corev1.ServiceSpec{ClusterIP: "None", ClusterIPs: []string{"None"}, IPFamilies: c.families}},
		{ObjectMeta: metav1.ObjectMeta{Name: "smile-server"}, Spec: corev1.ServiceSpec{ClusterIPs: c.clusterIPs, IPFamilies: c.families}},
	}}
	files["get_services_-o_json"] = services

	files["get_deployment_coredns_-o_json"] = appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)},
		Status:     appsv1.DeploymentStatus{AvailableReplicas: c.coreDNS},
	}
	scheduled := int32(len(c.servers))
	files["get_daemonset_smile-server_-o_json"] = appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "smile-server", Generation: 1},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: scheduled, CurrentNumberScheduled: scheduled,
			UpdatedNumberScheduled: scheduled, NumberReady: readyServers, ObservedGeneration: 1},
	}

	if c.matrix != "" {
		// verify.sh asks the first Ready server pod by node name; the
		// matrix is served as TestMesh captured it, byte for byte.
		asker := -1
		for i, s := range c.servers {
			if s.ready && (asker < 0 || s.node < c.servers[asker].node) {
				asker = i
			}
		}
		b, err := os.ReadFile(filepath.Join("testdata", "matrix", c.matrix))
		require.NoError(t, err)
		name := fmt.Sprintf("get_--raw__api_v1_namespaces_smile_pods_smile-server-%d_8080_proxy_matrix.json", asker)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	for name, obj := range files {
		b, err := json.MarshalIndent(obj, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	if c.clientWaiting == "" {
		for _, container := range []string{"pods", "service"} {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "logs_"+clientPod+"_-c_"+container), c.jobLog(container), 0o644))
		}
	}
	for _, text := range []string{"get_pods_-o_wide", "get_nodes_-o_wide", "get_events_--sort-by=.lastTimestamp"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, text), []byte("("+text+")\n"), 0o644))
	}
	for name, n := range c.flaky {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".fail"), fmt.Appendf(nil, "%d\n", n), 0o644))
	}
}

// jobLog is what smile-client -each -json prints in one container of the
// Job: a line per address and one for the name, then the summary, written
// with the client's own JSON types.
func (c *cluster) jobLog(container string) []byte {
	target := map[string]string{"pods": "smile-server-headless", "service": "smile-server"}[container] + ".smile.svc.cluster.local:7890"
	var b strings.Builder
	enc := json.NewEncoder(&b)
	n, ok := 0, 0
	for _, key := range sortedKeys(c.probes) {
		ip, found := strings.CutPrefix(key, container+"/")
		if !found {
			continue
		}
		a := netip.MustParseAddr(ip)
		addr := netip.AddrPortFrom(a, 7890).String()
		row := client.EachRow{Header: client.NewHeader(client.TypeEach), Target: addr, Via: "address", Address: addr,
			Family: client.Family(a), OK: c.probes[key] == "ok", Probes: 1}
		if row.OK {
			row.OKProbes, row.ConnectMS, row.TotalMS = 1, 0.2, 0.4
			ok++
		} else {
			row.FailedProbes, row.Class, row.Stage, row.Error = 1, c.probes[key], "connect", "can't connect to "+addr+": "+c.probes[key]
		}
		n++
		_ = enc.Encode(row)
	}
	_ = enc.Encode(client.EachRow{Header: client.NewHeader(client.TypeEach), Target: target, Via: "name", OK: true,
		Probes: 1, OKProbes: 1, ConnectMS: 0.2, TotalMS: 0.4})
	_ = enc.Encode(client.EachSummary{Header: client.NewHeader(client.TypeEachSummary), Target: target, OK: n == ok,
		Targets: n + 1, OKTargets: ok + 1, FailedTargets: n - ok})
	return []byte(b.String())
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// run runs a kind script against the recorded cluster, with the fake
// kubectl first on PATH and no waiting between retries.
func run(t *testing.T, c *cluster, script string, env ...string) (out string, code int, took time.Duration, dir string) {
	t.Helper()
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatalf("the kind scripts need jq: %v", err)
	}
	dir = t.TempDir()
	c.record(t, dir)
	bin := t.TempDir()
	fake, err := filepath.Abs("testdata/kubectl")
	require.NoError(t, err)
	require.NoError(t, os.Symlink(fake, filepath.Join(bin, "kubectl")))

	cmd := exec.Command("bash", filepath.Join("kind", script))
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"FAKE_KUBECTL="+dir, "RETRY_DELAY=0", "POLL=0.05")
	cmd.Env = append(cmd.Env, env...)
	start := time.Now()
	b, err := cmd.CombinedOutput()
	took = time.Since(start)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	t.Logf("%s (exit %d after %v):\n%s", script, code, took.Round(time.Millisecond), b)
	return string(b), code, took, dir
}

// tableRow matches a row of verify.sh's tables.
func tableRow(name, family, address, result string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` +` + family + ` +` + regexp.QuoteMeta(address) + ` +` + regexp.QuoteMeta(result) + `$`)
}

// meshRow matches a row of verify.sh's table of the mesh.
func meshRow(src, dst, family, result string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(src) + ` +` + regexp.QuoteMeta(dst) + ` +` + family + ` +` + regexp.QuoteMeta(result) + `$`)
}

// TestVerify runs kind/verify.sh against recorded clusters: it passes only
// when every node × every promised family and every Service address
// greeted and every ordered pair of nodes × every promised family is ok in
// the mesh's matrix (as four real mesh nodes served it: testdata/matrix),
// names each gap in its tables, always prints them, rides out transient
// kubectl errors, and stops at once on an image that can't be pulled.
func TestVerify(t *testing.T) {
	t.Parallel()
	dual := "FAMILIES=IPv4 IPv6"
	cases := []struct {
		name     string
		cluster  func() *cluster
		env      []string
		wantCode int
		want     []*regexp.Regexp // rows and lines that must be in the output
	}{
		{"every address greeted", healthy, []string{dual}, 0, []*regexp.Regexp{
			tableRow("node-a", "IPv4", "10.244.0.2", "ok"),
			tableRow("node-c", "IPv6", "fd00:10:244:2::2", "ok"),
			tableRow("smile-server", "IPv6", "fd00:10:96::100", "ok"),
			meshRow("node-a", "node-b", "IPv4", "ok"),
			meshRow("node-d", "node-c", "IPv6", "ok"),
			regexp.MustCompile(`>> every node and Service greeted over IPv4 IPv6, and every node pair in the mesh`),
		}},
		{"IPv6 SYNs dropped towards one node in the mesh", func() *cluster {
			c := healthy()
			c.matrix = "ipv6-dropped.json"
			return c
		}, []string{dual, "MESH_TIMEOUT=1"}, 1, []*regexp.Regexp{
			meshRow("node-a", "node-c", "IPv6", "FAILED (timeout)"),
			meshRow("node-d", "node-c", "IPv6", "FAILED (timeout)"),
			meshRow("node-a", "node-c", "IPv4", "ok"),
			meshRow("node-c", "node-a", "IPv6", "ok"),
			regexp.MustCompile(`(?m)^   node-b → node-c ipv6 \(\[[0-9a-f:]+\]:7890\): can't connect to \[[0-9a-f:]+\]:7890: timeout$`),
			tableRow("node-c", "IPv6", "fd00:10:244:2::2", "ok"), // the Job's one-shot probe saw no fault
		}},
		{"IPv6 SYNs dropped in the mesh, IPv4 promised", func() *cluster {
			c := healthy()
			c.matrix = "ipv6-dropped.json"
			return c
		}, []string{"FAMILIES=IPv4", "MESH_TIMEOUT=1"}, 0, []*regexp.Regexp{
			meshRow("node-a", "node-c", "IPv4", "ok"),
			regexp.MustCompile(`>> failing cells of the mesh`),
		}},
		{"a frozen node in the mesh", func() *cluster {
			c := healthy()
			c.matrix = "paused.json"
			return c
		}, []string{dual, "MESH_TIMEOUT=1"}, 1, []*regexp.Regexp{
			meshRow("node-a", "node-d", "IPv4", "FAILED (timeout)"),
			meshRow("node-c", "node-d", "IPv6", "FAILED (timeout)"),
			regexp.MustCompile(`(?m)^node-d +node-a +IPv4 +STALE \(no row from http://\S+:8080/mesh\.json: timeout\)$`),
			meshRow("node-b", "node-c", "IPv6", "ok"),
			regexp.MustCompile(`(?m)^   node-a → node-d ipv4 \([0-9.]+:7890\): connected to [0-9.]+:7890, but no greeting: timeout$`),
		}},
		{"a node the mesh never heard of", func() *cluster {
			c := healthy()
			c.addNode("node-e")
			c.greetAll()
			return c
		}, []string{dual, "MESH_TIMEOUT=1"}, 1, []*regexp.Regexp{
			tableRow("node-e", "IPv6", "fd00:10:244:4::2", "ok"),
			meshRow("node-e", "node-a", "IPv4", "NO ROW"),
			meshRow("node-a", "node-e", "IPv6", "NOT PROBED"),
			meshRow("node-a", "node-b", "IPv6", "ok"),
		}},
		{"no matrix served", func() *cluster {
			c := healthy()
			c.matrix = ""
			return c
		}, []string{dual, "MESH_TIMEOUT=1"}, 1, []*regexp.Regexp{
			meshRow("node-b", "node-a", "IPv4", "NO MATRIX (pod smile-server-0 did not serve /matrix.json on port 8080)"),
			regexp.MustCompile(`>> kubectl get --raw /api/v1/namespaces/smile/pods/smile-server-0:8080/proxy/matrix.json: error: no recorded answer`),
		}},
		{"a server pod without an IPv6 address", func() *cluster {
			c := healthy()
			c.servers[2].ips = c.servers[2].ips[:1]
			c.greetAll() // the Job greets what DNS lists, and completes
			return c
		}, []string{dual}, 1, []*regexp.Regexp{
			tableRow("node-c", "IPv4", "10.244.2.2", "ok"),
			tableRow("node-c", "IPv6", "-", "NO IPv6 ADDRESS"),
		}},
		{"a node without a server pod", func() *cluster {
			c := healthy()
			c.servers = c.servers[:2]
			c.greetAll()
			return c
		}, []string{dual}, 1, []*regexp.Regexp{
			tableRow("node-c", "IPv4", "-", "NO SERVER POD"),
			tableRow("node-c", "IPv6", "-", "NO SERVER POD"),
		}},
		{"a server pod not ready", func() *cluster {
			c := healthy()
			c.servers[1].ready = false
			return c
		}, []string{dual}, 1, []*regexp.Regexp{tableRow("node-b", "IPv6", "fd00:10:244:1::2", "NOT READY")}},
		{"an address that timed out", func() *cluster {
			c := healthy()
			c.probes["pods/fd00:10:244:1::2"] = "timeout"
			c.job = batchv1.JobFailed
			return c
		}, []string{dual}, 1, []*regexp.Regexp{
			tableRow("node-b", "IPv6", "fd00:10:244:1::2", "FAILED (timeout)"),
			tableRow("node-b", "IPv4", "10.244.1.2", "ok"),
			regexp.MustCompile(`(?m)^   ` + clientPod + `/pods: can't connect to \[fd00:10:244:1::2\]:7890: timeout$`),
			regexp.MustCompile(`>> job/smile-client: failed`),
		}},
		{"an address never probed", func() *cluster {
			c := healthy()
			delete(c.probes, "pods/10.244.0.2")
			return c
		}, []string{dual}, 1, []*regexp.Regexp{tableRow("node-a", "IPv4", "10.244.0.2", "NOT PROBED")}},
		{"a Service without the IPv6 family", func() *cluster {
			c := healthy()
			c.families, c.clusterIPs = c.families[:1], c.clusterIPs[:1]
			c.greetAll()
			return c
		}, []string{dual}, 1, []*regexp.Regexp{
			tableRow("smile-server-headless", "IPv6", "-", "NOT AMONG ITS ipFamilies"),
			tableRow("smile-server", "IPv6", "-", "NOT AMONG ITS ipFamilies"),
		}},
		{"the cluster IP refused over IPv6", func() *cluster {
			c := healthy()
			c.probes["service/fd00:10:96::100"] = "refused"
			c.job = batchv1.JobFailed
			return c
		}, []string{dual}, 1, []*regexp.Regexp{tableRow("smile-server", "IPv6", "fd00:10:96::100", "FAILED (refused)")}},
		{"transient kubectl errors", func() *cluster {
			c := healthy()
			c.flaky = map[string]int{"get_job_smile-client_-o_json": 3, "get_pods_-o_json": 2, "get_nodes_-o_json": 4, "logs_" + clientPod + "_-c_pods": 2}
			return c
		}, []string{dual}, 0, []*regexp.Regexp{
			regexp.MustCompile(`>> kubectl -n smile get job smile-client -o json: Error from server \(ServiceUnavailable\).*\(try 3 of 5\)`),
			tableRow("node-c", "IPv6", "fd00:10:244:2::2", "ok"),
		}},
		{"an IPv4-only cluster, IPv4 promised", ipv4Only, []string{"FAMILIES=IPv4"}, 0, []*regexp.Regexp{
			tableRow("node-b", "IPv4", "10.244.1.2", "ok"),
			tableRow("smile-server", "IPv4", "10.96.100.1", "ok"),
		}},
		{"an IPv4-only cluster, both promised", ipv4Only, []string{dual}, 1, []*regexp.Regexp{
			tableRow("node-b", "IPv6", "-", "NO IPv6 ADDRESS"),
		}},
		{"a Job that never finishes", func() *cluster {
			c := healthy()
			c.job = ""
			return c
		}, []string{dual, "TIMEOUT=1"}, 1, []*regexp.Regexp{
			regexp.MustCompile(`>> job/smile-client: timeout`),
			regexp.MustCompile(`NODE +FAMILY +ADDRESS +RESULT`),
		}},
		{"FAMILIES misspelt", healthy, []string{"FAMILIES=IPv4 ipv6"}, 2, []*regexp.Regexp{
			regexp.MustCompile(`verify.sh: FAMILIES: ipv6 is neither IPv4 nor IPv6`),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, code, _, _ := run(t, tc.cluster(), "verify.sh", tc.env...)
			assert.Equal(t, tc.wantCode, code, "exit code")
			for _, re := range tc.want {
				assert.Regexp(t, re, out)
			}
			if tc.wantCode == 1 {
				assert.Contains(t, out, ">> FAILED: job/smile-client")
			}
		})
	}

	t.Run("an image that can't be pulled", func(t *testing.T) {
		t.Parallel()
		c := healthy()
		c.job, c.clientWaiting = "", "ImagePullBackOff"
		out, code, took, _ := run(t, c, "verify.sh", dual, "TIMEOUT=300")
		assert.Equal(t, 1, code)
		assert.Less(t, took, 30*time.Second, "stops at once, not after TIMEOUT")
		assert.Contains(t, out, `pod/`+clientPod+` container pods (smile-client:dev): ImagePullBackOff: Back-off pulling image "smile-client:dev"`)
		assert.Regexp(t, tableRow("node-b", "IPv4", "10.244.1.2", "NOT PROBED"), out, "the table is printed all the same")
	})
}

// TestServers runs kind/servers.sh against recorded clusters: it returns
// only once every node is Ready, CoreDNS is available and every node has a
// Ready server, names what is missing at its timeout, and stops at once on
// an image that can't be pulled.
func TestServers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		cluster  func() *cluster
		wantCode int
		want     []string
	}{
		{"ready", healthy, 0, []string{">> ready: every node, CoreDNS, a server on every node"}},
		{"a worker not Ready, left out of the DaemonSet", func() *cluster {
			c := healthy()
			c.nodes[2].ready = false
			c.servers = slices.Delete(c.servers, 2, 3)
			return c
		}, 1, []string{
			"   node node-c not Ready",
			"   daemonset/smile-server: 3 scheduled, 3 ready, 3 up to date, for 4 nodes",
			"   node node-c: no server pod",
		}},
		{"a server pod not Ready", func() *cluster {
			c := healthy()
			c.servers[0].ready = false
			return c
		}, 1, []string{
			"   daemonset/smile-server: 4 scheduled, 3 ready, 4 up to date, for 4 nodes",
			"   node node-a: server pod smile-server-0 not Ready",
		}},
		{"CoreDNS not available", func() *cluster {
			c := healthy()
			c.coreDNS = 0
			return c
		}, 1, []string{"   CoreDNS: 0 of 2 replicas available"}},
		{"transient kubectl errors", func() *cluster {
			c := healthy()
			c.flaky = map[string]int{"get_nodes_-o_json": 2, "get_daemonset_smile-server_-o_json": 6, "get_pods_-o_json": 1}
			return c
		}, 0, []string{"(try 2 of 5)", ">> ready"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A cluster that never gets ready fails after 1s; one that
			// does (after a kubectl call used up its tries) passes well
			// before 30s.
			timeout := map[bool]string{true: "TIMEOUT=1", false: "TIMEOUT=30"}[tc.wantCode != 0]
			out, code, _, _ := run(t, tc.cluster(), "servers.sh", timeout)
			assert.Equal(t, tc.wantCode, code, "exit code")
			for _, want := range tc.want {
				assert.Contains(t, out, want)
			}
		})
	}

	t.Run("an image that can't be pulled", func(t *testing.T) {
		t.Parallel()
		c := healthy()
		c.servers[1].waiting, c.servers[1].ready = "ErrImageNeverPull", false
		out, code, took, _ := run(t, c, "servers.sh", "TIMEOUT=300")
		assert.Equal(t, 1, code)
		assert.Less(t, took, 30*time.Second, "stops at once, not after TIMEOUT")
		assert.Contains(t, out, `pod/smile-server-1 container smile-server (smile-server:dev): ErrImageNeverPull: Back-off pulling image "smile-server:dev"`)
	})
}

// TestMatrixTestdata checks that the matrices TestVerify serves are what
// TestMesh (integration/) captured with SMILE_UPDATE_DOCS=1: /matrix.json
// of four mesh nodes, node-a to node-d, assembled by node-a.
func TestMatrixTestdata(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"ok.json", "ipv6-dropped.json", "paused.json"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "matrix", name))
			require.NoError(t, err)
			var m struct {
				SchemaVersion int    `json:"schema_version"`
				Type          string `json:"type"`
				Node          string `json:"node"`
				Rows          []struct {
					Host string `json:"host"`
				} `json:"rows"`
			}
			require.NoError(t, json.Unmarshal(b, &m))
			assert.Equal(t, 2, m.SchemaVersion, "/matrix.json as the mesh serves it now")
			assert.Equal(t, "mesh_matrix", m.Type)
			assert.Equal(t, meshNodes[0], m.Node)
			var hosts []string
			for _, r := range m.Rows {
				hosts = append(hosts, r.Host)
			}
			assert.Equal(t, meshNodes, hosts)
		})
	}
}
