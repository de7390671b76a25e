#!/usr/bin/env bash
# Removes the containers, networks and images that integration runs labelled
# (smile.integration.run, .pid, .host): a run that was killed never reached
# its own cleanup, and what it left holds names, subnets and disk.
#
#   leftovers.sh dead      runs whose test process no longer runs on this host
#                          (`make clean-integration`, before every `make integration`)
#   leftovers.sh run ID    one run: the suite removes its own this way at the end
#
# Runs of other hosts, and objects without a pid label, are left alone: on a
# shared daemon nothing that may still be in use is removed.
set -euo pipefail

mode=${1:-}
want_run=${2:-}
case $mode in
dead) ;;
run) [[ -n $want_run ]] || { echo "leftovers.sh: run needs a run ID" >&2; exit 2; } ;;
*) echo "leftovers.sh: usage: leftovers.sh dead | run ID" >&2; exit 2 ;;
esac
host=$(hostname)

# alive PID HOST: the integration test process PID of this host still runs.
alive() {
	local cmdline
	cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
	[[ $cmdline == *integration.test* ]]
}

# chosen RUN PID HOST: the object belongs to a run this call removes.
chosen() {
	case $mode in
	run) [[ $1 == "$want_run" ]] ;;
	dead) [[ -n $2 && $3 == "$host" ]] && ! alive "$2" ;;
	esac
}

labels='{{.Label "smile.integration.run"}} {{.Label "smile.integration.pid"}} {{.Label "smile.integration.host"}}'
ilabels='{{index .Config.Labels "smile.integration.run"}} {{index .Config.Labels "smile.integration.pid"}} {{index .Config.Labels "smile.integration.host"}}'

removed=0
while read -r id run pid h; do
	[[ -n $id ]] && chosen "$run" "$pid" "$h" || continue
	docker rm -f -v "$id" >/dev/null && removed=$((removed + 1))
done < <(docker ps -a --filter label=smile.integration.run --format "{{.ID}} $labels")

while read -r id run pid h; do
	[[ -n $id ]] && chosen "$run" "$pid" "$h" || continue
	# Docker 20.10 may refuse a network with no container left
	# (moby/moby#43286): noted by docker, not fatal.
	docker network rm "$id" >/dev/null && removed=$((removed + 1))
done < <(docker network ls --filter label=smile.integration.run --format "{{.ID}} $labels")

# Images last, children before parents: newest first, until nothing more goes.
mapfile -t images < <(docker image ls -a -q --no-trunc --filter label=smile.integration.run | awk '!seen[$0]++')
todo=()
if ((${#images[@]})); then
	while read -r id run pid h; do
		if chosen "$run" "$pid" "$h"; then todo+=("$id"); fi
	done < <(docker image inspect --format "{{.Id}} $ilabels" "${images[@]}" 2>/dev/null | grep . || true)
fi
while ((${#todo[@]})); do
	docker image rm -f "${todo[@]}" >/dev/null 2>&1 || true
	mapfile -t left < <(docker image inspect --format '{{.Id}}' "${todo[@]}" 2>/dev/null | grep . || true)
	removed=$((removed + ${#todo[@]} - ${#left[@]}))
	if ((${#left[@]} == ${#todo[@]})); then
		# In use by a container of a run still going, or refused: a note,
		# not a failure that would block every later run.
		echo "leftovers.sh: images left in place: ${left[*]}" >&2
		break
	fi
	todo=("${left[@]}")
done
echo "leftovers.sh: removed $removed containers, networks and images ($mode${want_run:+ $want_run})"
