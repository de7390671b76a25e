#!/usr/bin/env bash
# servers.sh waits until the cluster is ready for the smile-client Job:
# every node Ready, CoreDNS available, and a Ready smile-server pod on every
# node (the DaemonSet scheduled on as many nodes as the cluster has). It
# fails at once, with the kubelet's reason, when a pod waits on an image no
# node has, and names what is still missing when TIMEOUT runs out.
#
# Why not `kind create --wait` and `kubectl rollout status`: the first waits
# for the control-plane node only, and a worker that still carries the
# node.kubernetes.io/not-ready taint is left out of the DaemonSet's desired
# count, so the second succeeds with fewer server pods than nodes and the
# Job runs before the workers' servers exist.
#
# Usage: deploy/kubernetes/kind/servers.sh   (kubectl and jq on PATH; the
# servers applied first). Environment: TIMEOUT in seconds (180), and those
# of lib.sh.
set -uo pipefail
# shellcheck source=deploy/kubernetes/kind/lib.sh
. "$(dirname "$0")/lib.sh"

timeout=${TIMEOUT:-180}
deadline=$((SECONDS + timeout))

# missing prints one line per thing the Job would need that is not there
# yet, nothing when the cluster is ready; $pods holds the namespace's pods.
missing() {
	local nodes dns ds
	if ! nodes=$(kube get nodes -o json); then
		echo "nodes: kubectl failed"
		return
	fi
	jq -r '.items[] | select(any(.status.conditions[]?; .type == "Ready" and .status == "True") | not)
		| "node \(.metadata.name) not Ready"' <<<"$nodes"

	if dns=$(kube -n kube-system get deployment coredns -o json); then
		jq -r '(.status.availableReplicas // 0) as $ok | (.spec.replicas // 1) as $want
			| select($ok < $want) | "CoreDNS: \($ok) of \($want) replicas available"' <<<"$dns"
	else
		echo "CoreDNS: kubectl failed"
	fi

	if [[ -z $pods ]]; then
		echo "server pods: kubectl failed"
		return
	fi
	if ds=$(kube -n "$ns" get daemonset smile-server -o json); then
		jq -r --argjson nodes "$(jq '.items | length' <<<"$nodes")" '.status as $s
			| select(($s.desiredNumberScheduled // 0) != $nodes or ($s.numberReady // 0) != $nodes
				or ($s.updatedNumberScheduled // 0) != $nodes or ($s.observedGeneration // 0) < .metadata.generation)
			| "daemonset/smile-server: \($s.desiredNumberScheduled // 0) scheduled, \($s.numberReady // 0) ready, \($s.updatedNumberScheduled // 0) up to date, for \($nodes) nodes"' <<<"$ds"
	else
		echo "daemonset/smile-server: kubectl failed"
	fi
	# Every node by name: the counts alone would not say which one.
	jq -r --argjson pods "$pods" '.items[].metadata.name as $node
		| [$pods.items[] | select(.metadata.labels["app.kubernetes.io/name"] == "smile-server" and .spec.nodeName == $node)] as $mine
		| if ($mine | length) == 0 then "node \($node): no server pod"
		  elif any($mine[]; any(.status.conditions[]?; .type == "Ready" and .status == "True")) then empty
		  else "node \($node): server pod \($mine[0].metadata.name) not Ready" end' <<<"$nodes"
}

echo ">> waiting up to ${timeout}s for every node Ready, CoreDNS, and a Ready smile-server on every node"
while :; do
	pods=$(kube -n "$ns" get pods -o json) || pods=
	if [[ -n $pods ]] && report_image_errors <<<"$pods"; then
		exit 1
	fi
	gaps=$(missing)
	[[ -z $gaps ]] && break
	if ((SECONDS >= deadline)); then
		echo ">> FAILED: after ${timeout}s, still missing:"
		printf '%s\n' "$gaps" | sed 's/^/   /'
		kube get nodes -o wide || true
		kube -n "$ns" get pods -o wide || true
		exit 1
	fi
	sleep "$poll"
done
echo ">> ready: every node, CoreDNS, a server on every node"
kube -n "$ns" get pods -o wide || true
