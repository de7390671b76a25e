#!/usr/bin/env bash
# verify.sh waits for the smile-client Job and judges it against what the
# deployment promises, not against what the cluster happens to report: a
# row for every node × every family in FAMILIES (its server pod Ready, an
# address of that family, that address greeted) and for the ClusterIP
# Service's address of each family. It prints that table whatever happens
# (Job complete, failed, timed out, or an image that can't be pulled, which
# ends the wait at once) and fails unless every row is ok and the Job
# completed.
#
# The Job alone cannot tell that a node or a family is missing: headless
# DNS lists only ready pods, and a pod without an IPv6 address has no AAAA
# record to fail. Hence the rows come from the nodes and FAMILIES, and the
# probes only fill them in.
#
# Then the mesh: every server pod greets every other one over each family,
# and one of them assembles the matrix from every pod's row. verify.sh
# reads that /matrix.json through the API server's pod proxy until every
# ordered pair of nodes × every family in FAMILIES is ok there (or
# MESH_TIMEOUT runs out), and prints a row for each: ok, FAILED (class),
# NOT PROBED, STALE (why the source's row did not come), NO ROW (the source
# never reported) or NO MATRIX.
#
# Usage: FAMILIES="IPv4 IPv6" deploy/kubernetes/kind/verify.sh
#   (kubectl and jq on PATH). FAMILIES: what the overlay promises, "IPv4
#   IPv6" for deploy/kubernetes, "IPv4" or "IPv6" for the single-stack
#   overlays. Environment: TIMEOUT in seconds for the Job (300),
#   MESH_TIMEOUT in seconds for the mesh (120), HTTP_PORT the servers'
#   -http port (8080), and those of lib.sh.
set -uo pipefail
# shellcheck source=deploy/kubernetes/kind/lib.sh
. "$(dirname "$0")/lib.sh"

job=smile-client
timeout=${TIMEOUT:-300}
read -r -a families <<<"${FAMILIES:?FAMILIES must name the promised families: IPv4, IPv6 or both}"
for family in "${families[@]}"; do
	case $family in
	IPv4 | IPv6) ;;
	*) echo "verify.sh: FAMILIES: $family is neither IPv4 nor IPv6" >&2 && exit 2 ;;
	esac
done

echo ">> waiting up to ${timeout}s for job/${job}"
deadline=$((SECONDS + timeout))
result=timeout
while ((SECONDS < deadline)); do
	if pods=$(kube -n "$ns" get pods -o json) && report_image_errors <<<"$pods"; then
		result="stopped: an image can't be pulled"
		break
	fi
	if status=$(kube -n "$ns" get job "$job" -o json); then
		case $(jq -r '[.status.conditions[]? | select(.status == "True") | .type] | join(" ")' <<<"$status") in
		*Complete*) result=complete && break ;;
		*Failed*) result=failed && break ;;
		esac
	fi
	sleep "$poll"
done
echo ">> job/${job}: ${result}"

failed=0
[[ $result == complete ]] || failed=1

# What the cluster says now. A call that still fails after its retries
# leaves its part empty, and every row it would have filled fails.
nodes=$(kube get nodes -o json) || nodes='{"items":[]}'
pods=$(kube -n "$ns" get pods -o json) || pods='{"items":[]}'
services=$(kube -n "$ns" get services -o json) || services='{"items":[]}'
if (($(jq '.items | length' <<<"$nodes") == 0)); then
	echo ">> FAILED: no nodes listed"
	failed=1
fi

# Every probe of every Job pod that ran, oldest pod first, so that a
# retried pod's later result is the one that counts: TAB-separated
# container, address without port or brackets, and ok or the class.
probes=
failures=
for pod in $(jq -r --arg job "$job" '[.items[] | select((.metadata.labels["batch.kubernetes.io/job-name"] // .metadata.labels["job-name"]) == $job)
	| select(any(.status.containerStatuses[]?; .state.running or .state.terminated))]
	| sort_by(.metadata.creationTimestamp)[] | .metadata.name' <<<"$pods"); do
	for container in pods service; do
		if out=$(kube -n "$ns" logs "$pod" -c "$container"); then
			probes+=$(jq -rR --arg c "$container" 'fromjson? | select(.via == "address")
				| [$c, (.target | sub(":[0-9]+$"; "") | ltrimstr("[") | rtrimstr("]")),
				   (if .ok then "ok" else "FAILED (\(.class // "error"))" end)] | @tsv' <<<"$out")$'\n'
			failures+=$(jq -rR --arg p "$pod/$container" 'fromjson? | select(.ok == false) | "   \($p): \(.error // .class)"' <<<"$out")$'\n'
		fi
	done
done
if [[ -n ${failures//$'\n'/} ]]; then
	echo ">> failed probes, of retried pods too"
	printf '%s' "$failures" | grep .
fi

# result_of CONTAINER ADDRESS: the last probe's result, or NOT PROBED.
result_of() {
	awk -F'\t' -v c="$1" -v a="$2" '$1 == c && $2 == a { r = $3 } END { print (r == "" ? "NOT PROBED" : r) }' <<<"$probes"
}

row() {
	printf '%-28s %-6s %-40s %s\n' "$@"
	[[ $4 == ok ]] || failed=1
}

echo ">> every node's server pod, over ${families[*]}"
printf '%-28s %-6s %-40s %s\n' NODE FAMILY ADDRESS RESULT
for node in $(jq -r '.items[].metadata.name' <<<"$nodes" | sort); do
	server=$(jq -c --arg n "$node" '[.items[] | select(.metadata.labels["app.kubernetes.io/name"] == "smile-server" and .spec.nodeName == $n)][0] // empty' <<<"$pods")
	for family in "${families[@]}"; do
		if [[ -z $server ]]; then
			row "$node" "$family" - "NO SERVER POD"
			continue
		fi
		ip=$(jq -r --arg f "$family" '[.status.podIPs[]?.ip | select(contains(":") == ($f == "IPv6"))][0] // empty' <<<"$server")
		if [[ -z $ip ]]; then
			row "$node" "$family" - "NO $family ADDRESS"
		elif ! jq -e 'any(.status.conditions[]?; .type == "Ready" and .status == "True")' <<<"$server" >/dev/null; then
			row "$node" "$family" "$ip" "NOT READY"
		else
			row "$node" "$family" "$ip" "$(result_of pods "$ip")"
		fi
	done
done

echo ">> the Services, over ${families[*]}"
printf '%-28s %-6s %-40s %s\n' SERVICE FAMILY ADDRESS RESULT
for name in smile-server-headless smile-server; do
	svc=$(jq -c --arg n "$name" '[.items[] | select(.metadata.name == $n)][0] // empty' <<<"$services")
	for family in "${families[@]}"; do
		if [[ -z $svc ]]; then
			row "$name" "$family" - "NO SERVICE"
		elif ! jq -e --arg f "$family" 'any(.spec.ipFamilies[]?; . == $f)' <<<"$svc" >/dev/null; then
			row "$name" "$family" - "NOT AMONG ITS ipFamilies"
		elif [[ $name == smile-server-headless ]]; then
			row "$name" "$family" "(the pods above)" ok
		else
			ip=$(jq -r --arg f "$family" '[.spec.clusterIPs[]? | select(contains(":") == ($f == "IPv6"))][0] // empty' <<<"$svc")
			if [[ -z $ip ]]; then
				row "$name" "$family" - "NO $family CLUSTER IP"
			else
				row "$name" "$family" "$ip" "$(result_of service "$ip")"
			fi
		fi
	done
done

# mesh_rows reads a /matrix.json (or null: none could be fetched), in
# either schema_version (2: a class code per column, docs/mesh.md), and
# prints a TAB-separated row per ordered pair of NODES × FAMILIES: source,
# destination, family and ok or what is wrong. A host with several
# addresses of a family is ok only if every one is.
mesh_rows() {
	jq -r --argjson nodes "$1" --argjson families "$2" --arg missing "$3" '
		. as $m
		| ([$m.rows[]? | {key: .host, value: .}] | from_entries) as $rows
		| $nodes[] as $src | $nodes[] as $dst | select($src != $dst) | $families[] as $family
		| ($family | ascii_downcase) as $f | $rows[$src] as $row
		| [$src, $dst, $family,
			(if $m == null then $missing
			elif $row == null then "NO ROW"
			elif $row.stale then "STALE (\($row.error // "no reason given"))"
			else (if $m.schema_version == 2 then
					[range(0; $m.columns | length) as $i | select($m.columns[$i].host == $dst and $m.columns[$i].family == $f)
						| $row.codes[$i:$i+1] as $code | select($code != ".") | $m.classes["0123456789abcdefghijklmnopqrstuvwxyz" | index($code)]]
				else [$row.cells[]? | select(.host == $dst and .family == $f) | if .ok then "ok" else .class end]
				end) as $classes
				| if ($classes | length) == 0 then "NOT PROBED"
				elif all($classes[]; . == "ok") then "ok"
				else "FAILED (\([$classes[] | select(. != "ok")] | unique | join(", ")))"
				end
			end)] | @tsv'
}

# mesh_failures reads a /matrix.json and prints each failing cell's error
# between those nodes.
mesh_failures() {
	jq -r --argjson nodes "$1" '.rows[]? | select(.host as $h | $nodes | index($h)) | .host as $src
		| .cells[]? | select(.ok | not) | "   \($src) → \(.host) \(.family) (\(.address)): \(.error)"'
}

mesh_timeout=${MESH_TIMEOUT:-120}
http_port=${HTTP_PORT:-8080}
node_list=$(jq -c '[.items[].metadata.name] | sort' <<<"$nodes")
family_list=$(printf '%s\n' "${families[@]}" | jq -Rsc 'split("\n") | map(select(. != ""))')
# The pod that assembles the matrix: a Ready server, the first by node.
asker=$(jq -r '[.items[] | select(.metadata.labels["app.kubernetes.io/name"] == "smile-server")
	| select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))]
	| sort_by(.spec.nodeName) | .[0] | select(. != null) | "\(.metadata.name) \(.spec.nodeName)"' <<<"$pods")
echo ">> waiting up to ${mesh_timeout}s for the mesh: every ordered node pair over ${families[*]}"
matrix=null
missing="NO MATRIX (no Ready server pod to ask)"
mesh_deadline=$((SECONDS + mesh_timeout))
while [[ -n $asker ]]; do
	missing="NO MATRIX (pod ${asker% *} did not serve /matrix.json on port ${http_port})"
	if got=$(kube get --raw "/api/v1/namespaces/${ns}/pods/${asker% *}:${http_port}/proxy/matrix.json") && jq -e .rows >/dev/null 2>&1 <<<"$got"; then
		matrix=$got
		if ! mesh_rows "$node_list" "$family_list" "$missing" <<<"$matrix" | grep -qv $'\tok$'; then
			break
		fi
	fi
	((SECONDS < mesh_deadline)) || break
	sleep "$poll"
done
echo ">> every ordered node pair, over ${families[*]}, in the matrix of pod ${asker% *} (node ${asker#* })"
printf '%-28s %-28s %-6s %s\n' SOURCE DESTINATION FAMILY RESULT
while IFS=$'\t' read -r src dst family res; do
	printf '%-28s %-28s %-6s %s\n' "$src" "$dst" "$family" "$res"
	[[ $res == ok ]] || failed=1
done < <(mesh_rows "$node_list" "$family_list" "$missing" <<<"$matrix")
if [[ $matrix != null ]] && [[ -n $(mesh_failures "$node_list" <<<"$matrix") ]]; then
	echo ">> failing cells of the mesh"
	mesh_failures "$node_list" <<<"$matrix"
fi

if ((failed)); then
	echo ">> FAILED: job/${job} ${result}; every row above must be ok"
	kube -n "$ns" get pods -o wide || true
	kube -n "$ns" get events --sort-by=.lastTimestamp || true
	exit 1
fi
echo ">> every node and Service greeted over ${families[*]}, and every node pair in the mesh"
