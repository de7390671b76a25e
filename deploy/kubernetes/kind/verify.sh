#!/usr/bin/env bash
# verify.sh waits for the smile-client Job, prints what its probes found and
# fails unless every address greeted and the probe of the headless Service
# reached the server pod on every node over every family the Service has.
#
# The Job alone cannot tell that a node is missing: headless DNS lists only
# ready pods, so a node whose server never became ready simply has no
# address to fail. This script compares the addresses probed with the pod
# IPs the API server reports, and names the node and family of each gap.
#
# Usage: deploy/kubernetes/kind/verify.sh   (kubectl and jq on PATH)
# Environment: NAMESPACE (smile), TIMEOUT in seconds (300).
set -euo pipefail

ns=${NAMESPACE:-smile}
job=smile-client
timeout=${TIMEOUT:-300}

echo ">> waiting up to ${timeout}s for job/${job}"
deadline=$((SECONDS + timeout))
result=timeout
while ((SECONDS < deadline)); do
	conditions=$(kubectl -n "$ns" get job "$job" \
		-o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
	case " $conditions " in
	*" Complete "*) result=complete && break ;;
	*" Failed "*) result=failed && break ;;
	esac
	sleep 2
done
echo ">> job/${job}: ${result}"

echo ">> probes, one JSON object per address and a summary per container"
kubectl -n "$ns" logs -l "job-name=${job}" --all-containers --prefix \
	--tail=-1 --max-log-requests=20 || true

failed=0
if [[ $result != complete ]]; then
	failed=1
	echo ">> failed probes (a retried pod's included)"
	kubectl -n "$ns" logs -l "job-name=${job}" --all-containers --prefix \
		--tail=-1 --max-log-requests=20 2>/dev/null |
		grep -F '"ok":false' || echo "   none printed: see the pod events below"
	kubectl -n "$ns" get pods -o wide
	kubectl -n "$ns" describe job "$job" | tail -n 20
	exit 1
fi

pod=$(kubectl -n "$ns" get pods -l "job-name=${job}" \
	--field-selector=status.phase=Succeeded -o name | head -n 1)
greeted=$(kubectl -n "$ns" logs "$pod" -c pods |
	jq -r 'select(.via == "address" and .ok) | .address | sub(":[0-9]+$"; "") | ltrimstr("[") | rtrimstr("]")')
families=" $(kubectl -n "$ns" get service smile-server-headless -o jsonpath='{.spec.ipFamilies[*]}') "

nodes=$(kubectl get nodes -o name | wc -l)
pods=$(kubectl -n "$ns" get pods -l app.kubernetes.io/name=smile-server \
	-o jsonpath='{range .items[*]}{.spec.nodeName}{" "}{range .status.podIPs[*]}{.ip}{" "}{end}{"\n"}{end}')
if (($(grep -c . <<<"$pods") != nodes)); then
	echo ">> FAILED: ${nodes} nodes but these server pods:"
	echo "$pods"
	failed=1
fi

echo ">> every node's server pod, over${families% }"
printf '%-28s %-6s %-40s %s\n' NODE FAMILY ADDRESS RESULT
while read -r node ips; do
	for ip in $ips; do
		family=IPv4
		[[ $ip == *:* ]] && family=IPv6
		[[ $families == *" $family "* ]] || continue
		if grep -qxF "$ip" <<<"$greeted"; then
			printf '%-28s %-6s %-40s %s\n' "$node" "$family" "$ip" ok
		else
			printf '%-28s %-6s %-40s %s\n' "$node" "$family" "$ip" "NOT GREETED"
			failed=1
		fi
	done
done <<<"$pods"

if ((failed)); then
	echo ">> FAILED: a server pod above was not greeted at its address"
	exit 1
fi
echo ">> every address greeted"
