#!/usr/bin/env bash
# valgrind.sh: memcheck on a short end-to-end run (docs/reliability.md).
#
# Starts `llmbench sim` (with a few faults, so the failure paths run too) and runs
# `valgrind --leak-check=full --error-exitcode=9 llmbench run ...` against it: streamed and
# non-streamed requests, then an export and a report of the store under valgrind as well.
# Prints "# passed N failed M" like the test suites; exit 0 when every step is clean.
# Environment: LLMBENCH (default build/llmbench), LB_VALGRIND_REQUESTS (default 24),
# LB_KEEP_TMP=1 keeps the scratch folder (the valgrind logs are in it).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${LLMBENCH:-$top/build/llmbench}
req=${LB_VALGRIND_REQUESTS:-24}
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not found (apt-get install valgrind)" >&2; exit 2; }
[ -x "$bin" ] || { echo "valgrind.sh: '$bin' not built (make)" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmbench-valgrind.XXXXXX")
sim=
cleanup() {
	[ -n "$sim" ] && kill "$sim" 2>/dev/null && wait "$sim" 2>/dev/null
	[ -n "${LB_KEEP_TMP:-}" ] && echo "valgrind.sh: logs kept in $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

"$bin" sim --listen 127.0.0.1:0 --port-file "$tmp/port" --ttft-ms 2 --itl-ms 1 --output-tokens 8 \
	--fault http_500:0.1 --fault close_mid:0.1 --fault refuse:0.05 --fault trunc_utf8:0.1 \
	>"$tmp/sim.out" 2>&1 &
sim=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port" 2>/dev/null)
[ -n "$port" ] || { echo "valgrind.sh: the sim did not start" >&2; cat "$tmp/sim.out" >&2; exit 3; }

vg=(valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible
	--error-exitcode=9 --track-fds=no --num-callers=30)
pass=0
fail=0
# step NAME COMMAND...: run under valgrind; ok when it exits 0 (or 3 for an interrupted run).
step() {
	local name=$1 rc
	shift
	(cd "$top" && "${vg[@]}" --log-file="$tmp/$name.vg" "$@" >"$tmp/$name.out" 2>&1)
	rc=$?
	if [ $rc = 0 ]; then
		echo "ok - $name: $(grep -E 'ERROR SUMMARY' "$tmp/$name.vg" | sed 's/^==[0-9]*== //')"
		pass=$((pass + 1))
	else
		echo "not ok - $name (exit $rc)"
		grep -E 'ERROR SUMMARY|definitely|indirectly|possibly' "$tmp/$name.vg" | sed 's/^/    /'
		grep -E -A25 '^==[0-9]+== (Invalid|Conditional|Use of|Mismatched|Syscall|Source and|[0-9,]+ bytes in)' \
			"$tmp/$name.vg" | head -n 80 | sed 's/^/    /'
		tail -n 5 "$tmp/$name.out" | sed 's/^/    /'
		fail=$((fail + 1))
	fi
}

common=(--db "$tmp/vg.db" --no-progress --keep-text --set "backends.0.base_url=http://127.0.0.1:$port/v1"
	--set 'load.levels=[1,4]' --set "load.requests=$req" --set load.warmup=2)
step run-stream "$bin" run workloads/smoke.json --name vg-stream "${common[@]}"
step run-plain "$bin" run workloads/smoke.json --name vg-plain "${common[@]}" --set backends.0.stream=false
step export "$bin" export --db "$tmp/vg.db" --run vg-stream --format json --chunks --out "$tmp/e.json"
step report "$bin" report --db "$tmp/vg.db" --run vg-stream --out "$tmp/report" --format md,csv,json,jsonl,html
echo "# passed $pass failed $fail"
[ "$fail" -eq 0 ]
