package kubernetes

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/smile-sockets/smile/internal/netaddr"
	"github.com/smile-sockets/smile/server"
)

// checkMesh checks the server's mesh, as smile-server itself parsed its
// flags: it greets the peers the headless Service lists on the greeting
// port, serves -http on the wildcard (peers fetch each other's rows on it,
// over either family) at the container port named http, names its row
// after the node, and says where Prometheus finds /metrics.
func checkMesh(p *problems, where string, ds appsv1.DaemonSet, c corev1.Container, cfg *server.Config) {
	fqdn := fmt.Sprintf("%s.%s.svc.%s", headlessName, namespace, clusterDomain)
	if len(cfg.MeshEntries) != 1 || cfg.MeshEntries[0].Kind != netaddr.Name || cfg.MeshEntries[0].Text != fqdn || cfg.MeshEntries[0].Port != port {
		p.addf("%s: -mesh %q, want the headless Service's name %s (port %d)", where, cfg.Mesh, fqdn, port)
	}
	if cfg.HTTP == "" || cfg.HTTPAddr.Kind != netaddr.Wildcard || cfg.HTTPAddr.Port != httpPort {
		p.addf("%s: -http %q, want the wildcard :%d", where, cfg.HTTP, httpPort)
	}
	if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
		return cp.Name == "http" && cp.ContainerPort == httpPort && cp.Protocol == corev1.ProtocolTCP
	}) {
		p.addf("%s: no container port http %d/TCP", where, httpPort)
	}
	node := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "SMILE_MESH_NODE" })
	if node < 0 || c.Env[node].ValueFrom == nil || c.Env[node].ValueFrom.FieldRef == nil || c.Env[node].ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		p.addf("%s: SMILE_MESH_NODE must come from the pod's spec.nodeName: the matrix names rows after nodes, as verify.sh reads them", where)
	}
	for k, want := range map[string]string{
		"prometheus.io/scrape": "true",
		"prometheus.io/port":   strconv.Itoa(httpPort),
		"prometheus.io/path":   "/metrics",
	} {
		if got := ds.Spec.Template.Annotations[k]; got != want {
			p.addf("%s: annotation %s %q, want %q", where, k, got, want)
		}
	}
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// (monitoring.coreos.com/v1) these manifests use, with the CRD's field
// names: decoding strictly into it refuses a misspelt one, which the API
// server would drop.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// checkServiceMonitors checks that the variant has its ServiceMonitor (or
// none), and that it scrapes /metrics at a port of a Service it selects,
// which leads to the server's -http.
func checkServiceMonitors(p *problems, monitors []serviceMonitor, services []corev1.Service, ds appsv1.DaemonSet, v variant) {
	if want := map[bool]int{true: 1, false: 0}[v.monitor]; len(monitors) != want {
		p.addf("want %d ServiceMonitor, got %d", want, len(monitors))
		return
	}
	for _, m := range monitors {
		where := "ServiceMonitor " + m.Name
		if m.Namespace != namespace || !slices.Equal(m.Spec.NamespaceSelector.MatchNames, []string{namespace}) {
			p.addf("%s: namespace %q selecting %v, want %q for both", where, m.Namespace, m.Spec.NamespaceSelector.MatchNames, namespace)
		}
		if len(m.Spec.Endpoints) != 1 {
			p.addf("%s: want one endpoint, got %d", where, len(m.Spec.Endpoints))
			continue
		}
		e := m.Spec.Endpoints[0]
		if e.Path != "/metrics" {
			p.addf("%s: path %q, want /metrics", where, e.Path)
		}
		interval, err1 := time.ParseDuration(e.Interval)
		timeout, err2 := time.ParseDuration(e.ScrapeTimeout)
		if err1 != nil || err2 != nil || timeout > interval {
			p.addf("%s: scrapeTimeout %s exceeds its interval %s", where, e.ScrapeTimeout, e.Interval)
		}
		var found int
		for _, s := range services {
			if !selects(m.Spec.Selector.MatchLabels, s.Labels) {
				continue
			}
			for _, sp := range s.Spec.Ports {
				if sp.Name == e.Port {
					found++
					if !reaches(sp, ds, httpPort) {
						p.addf("%s: port %s of Service %s does not reach the server's -http port %d", where, e.Port, s.Name, httpPort)
					}
				}
			}
		}
		if found != 1 {
			p.addf("%s: no Service it selects has a port %q, or more than one does (%d): each pod must be scraped once", where, e.Port, found)
		}
	}
}
