package kubernetes

import (
	"os"
	"reflect"

	"sigs.k8s.io/yaml"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// rulesFile is the plain rules file the PrometheusRule must equal.
const rulesFile = "../prometheus/smile-rules.yml"

// ruleGroup is a Prometheus rule group, as a rules file and a
// PrometheusRule's spec.groups both write it.
type ruleGroup struct {
	Name  string `json:"name"`
	Rules []struct {
		Alert       string            `json:"alert"`
		Expr        string            `json:"expr"`
		For         string            `json:"for,omitempty"`
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	} `json:"rules"`
}

// prometheusRule is the part of the Prometheus Operator's PrometheusRule
// (monitoring.coreos.com/v1) these manifests use, decoded strictly as
// serviceMonitor is.
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []ruleGroup `json:"groups"`
	} `json:"spec"`
}

// checkPrometheusRules checks that the variant has its PrometheusRule (or
// none), in the namespace, with the groups of rulesFile, so that the two
// ways of shipping the alerts cannot drift apart.
func checkPrometheusRules(p *problems, rules []prometheusRule, v variant) {
	if want := map[bool]int{true: 1, false: 0}[v.monitor]; len(rules) != want {
		p.addf("want %d PrometheusRule, got %d", want, len(rules))
		return
	}
	raw, err := os.ReadFile(rulesFile)
	if err != nil {
		p.addf("%v", err)
		return
	}
	var file struct {
		Groups []ruleGroup `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(raw, &file); err != nil {
		p.addf("%s: %v", rulesFile, err)
		return
	}
	for _, r := range rules {
		where := "PrometheusRule " + r.Name
		if r.Namespace != namespace {
			p.addf("%s: namespace %q, want %q", where, r.Namespace, namespace)
		}
		if !reflect.DeepEqual(r.Spec.Groups, file.Groups) {
			p.addf("%s: groups differ from %s at %s", where, rulesFile, firstDifference(r.Spec.Groups, file.Groups))
		}
	}
}

// firstDifference names the first alert (or group) where a and b differ.
func firstDifference(a, b []ruleGroup) string {
	for i := range min(len(a), len(b)) {
		for j := range min(len(a[i].Rules), len(b[i].Rules)) {
			if !reflect.DeepEqual(a[i].Rules[j], b[i].Rules[j]) {
				return a[i].Rules[j].Alert
			}
		}
		if len(a[i].Rules) != len(b[i].Rules) || a[i].Name != b[i].Name {
			return "group " + a[i].Name
		}
	}
	return "the number of groups"
}
