# lib.sh holds what servers.sh and verify.sh share: kubectl with retries,
# and the pods that wait on an image no node has. Sourced, never run.
#
# Environment: NAMESPACE (smile); TRIES (5) attempts per kubectl call,
# RETRY_DELAY (2) seconds apart; POLL (2) seconds between two looks at
# the cluster.

ns=${NAMESPACE:-smile}
tries=${TRIES:-5}
retry_delay=${RETRY_DELAY:-2}
poll=${POLL:-2}

# kube runs kubectl and prints its stdout. A failed call (an API server
# that restarts, a dropped connection) is retried, each error printed on
# stderr, so one transient error cannot end a wait without its summary.
kube() {
	local try out errfile
	errfile=$(mktemp)
	for ((try = 1; try <= tries; try++)); do
		if out=$(kubectl "$@" 2>"$errfile"); then
			rm -f "$errfile"
			printf '%s\n' "$out"
			return 0
		fi
		echo ">> kubectl $*: $(tr '\n' ' ' <"$errfile")(try $try of $tries)" >&2
		if ((try < tries)); then
			sleep "$retry_delay"
		fi
	done
	rm -f "$errfile"
	return 1
}

# image_errors reads a pod list (kubectl get pods -o json) and prints one
# line per container that waits on an image it cannot get. With
# imagePullPolicy IfNotPresent and an image that no node has (a skipped or
# failed kind load), the kubelet keeps backing off (ErrImagePull,
# ImagePullBackOff) until every timeout has run out: the scripts stop at
# the first sight of it instead, with the kubelet's reason.
image_errors() {
	jq -r '.items[] | .metadata.name as $pod
		| ((.status.initContainerStatuses // []) + (.status.containerStatuses // []))[]
		| select((.state.waiting.reason // "") | test("^(ErrImagePull|ImagePullBackOff|ErrImageNeverPull|InvalidImageName)$"))
		| "pod/\($pod) container \(.name) (\(.image)): \(.state.waiting.reason): \(.state.waiting.message // "no message")"'
}

# report_image_errors reads a pod list and, when a container waits on an
# image it cannot get, prints each with its reason and returns 0.
report_image_errors() {
	local errors
	errors=$(image_errors) || return 1
	[[ -n $errors ]] || return 1
	echo ">> FAILED: a pod can't get its image, so there is nothing to wait for (load the images into every node: kind load docker-image)"
	printf '%s\n' "$errors" | sed 's/^/   /'
}
