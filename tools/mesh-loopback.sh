#!/usr/bin/env bash
# tools/mesh-loopback.sh [N]: a mesh of N smile-server nodes (default 100,
# at most 250) on loopback addresses 127.0.1.1… of this machine, node-2
# stopped and node-3 frozen (SIGSTOP) once the mesh is up, and node-1's page
# saved as bin/mesh-loopback.png by headless Chromium (when installed) once
# the matrix shows both. Every node is stopped at the end. Nothing leaves
# loopback. Run `make build` first; BIN=dir picks other binaries. Needs
# curl and python3 (to read the matrix), and chromium for the picture.
set -euo pipefail
n=${1:-100}
bin=${BIN:-bin}
port=${PORT:-17890}
web=${WEB:-18080}
interval=${INTERVAL:-5s}
if [ "$n" -lt 3 ] || [ "$n" -gt 250 ]; then
	echo "mesh-loopback: N must be 3-250" >&2
	exit 2
fi
logs=$(mktemp -d)
peers=$(for i in $(seq 1 "$n"); do printf '127.0.1.%d:%d,' "$i" "$port"; done)
peers=${peers%,}
pids=()
stop() {
	kill -CONT "${pids[2]}" 2>/dev/null || true
	kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$logs"
}
trap stop EXIT
echo ">> starting $n nodes on 127.0.1.1-127.0.1.$n:$port, -http on port $web, every $interval (logs in $logs)"
for i in $(seq 1 "$n"); do
	"$bin/smile-server" -listen "127.0.1.$i:$port" -http "127.0.1.$i:$web" -mesh "$peers" \
		-mesh-node "node-$i" -mesh-interval "$interval" -resolve=false >"$logs/node-$i.log" 2>&1 &
	pids+=($!)
done
page=http://127.0.1.1:$web
# waitfor PYTHON-EXPR: poll node-1's matrix until the expression over m
# holds. A row's codes hold a character per column, '0' ok, '.' no cell;
# its cells only those that fail (docs/mesh.md).
waitfor() {
	for _ in $(seq 1 120); do
		if curl -sf "$page/matrix.json" | python3 -c "import json,sys; m=json.load(sys.stdin); sys.exit(0 if ($1) else 1)" 2>/dev/null; then
			return 0
		fi
		sleep 1
	done
	echo "mesh-loopback: the matrix never showed: $1" >&2
	return 1
}
echo ">> waiting until node-1's matrix has $n fresh rows, every cell ok"
waitfor "len(m['rows']) == $n and all(not r['stale'] and r['codes'].replace('.', '') == '0' * ($n - 1) for r in m['rows'])"
echo ">> stopping node-2 and freezing node-3"
kill "${pids[1]}"
kill -STOP "${pids[2]}"
waitfor "{r['host']: r['stale'] for r in m['rows']}.get('node-2') and {r['host']: r['stale'] for r in m['rows']}.get('node-3') and sum(1 for r in m['rows'] for c in r['cells'] if not c['ok']) >= 2 * ($n - 2)"
curl -sf "$page/matrix.json" | python3 -c "
import json, sys, collections
m = json.load(sys.stdin)
print('>> node-1 matrix: %d rows, %d stale: %s' % (len(m['rows']), sum(r['stale'] for r in m['rows']), ', '.join(r['host'] + ' (' + r['error'] + ')' for r in m['rows'] if r['stale'])))
cls = collections.Counter((c['host'], c.get('class', 'ok')) for r in m['rows'] for c in r['cells'] if not c['ok'])
for (dst, c), k in sorted(cls.items()):
    print('   %d cells to %s: %s' % (k, dst, c))
"
if command -v chromium >/dev/null; then
	mkdir -p bin
	chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=3000 --window-size=1600,700 \
		--screenshot=bin/mesh-loopback.png "$page/" >/dev/null 2>&1
	echo ">> node-1's page: bin/mesh-loopback.png"
fi
