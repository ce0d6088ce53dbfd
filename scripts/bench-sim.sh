#!/usr/bin/env bash
# Benchmark `llmbench sim` itself (not a test): short non-streamed requests/s with wrk, and N
# concurrent streams held (default 10000) with the send log's peak in-progress count and the
# first-token lateness. Needs wrk (apt-get install wrk); prints "unavailable: ..." without it.
# Usage: scripts/bench-sim.sh [STREAMS]   (LLMBENCH=path overrides build/llmbench)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
LLMBENCH=${LLMBENCH:-$top/build/llmbench}
STREAMS=${1:-10000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmbench-bench-sim.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null 2>&1; then
	echo "sim requests/s: unavailable: wrk is not installed (apt-get install wrk)"
	echo "sim concurrent streams: unavailable: wrk is not installed"
	exit 0
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null

start() { # port-file sim-options...
	local pf=$1 i
	shift
	"$LLMBENCH" sim --port-file "$pf" "$@" 2>"$pf.err" &
	pids+=($!)
	for i in $(seq 100); do [ -s "$pf" ] && return 0; sleep 0.05; done
	echo "sim did not start: $(cat "$pf.err")" >&2
	exit 3
}

cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"prompt": "hello world", "max_tokens": 4}'
wrk.headers["Content-Type"] = "application/json"
LUA
cat >"$tmp/stream.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"prompt": "hello world", "stream": true, "stream_options": {"include_usage": true}}'
wrk.headers["Content-Type"] = "application/json"
LUA

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews these figures)"
start "$tmp/p1" --ttft-ms 0 --itl-ms 0 --output-tokens 4
rps=$(wrk -t1 -c64 -d5s -s "$tmp/post.lua" "http://127.0.0.1:$(cat "$tmp/p1")/v1/completions" |
	awk '/Requests\/sec/ { print $2 }')
echo "sim requests/s (non-streamed, 4 tokens, 64 keep-alive connections, wrk -t1): ${rps:-unavailable: wrk printed no figure}"

start "$tmp/p2" --ttft-ms 2000 --itl-ms 1000 --output-tokens 5 --log "$tmp/s.log"
wrk -t2 -c"$STREAMS" -d10s --timeout 30s -s "$tmp/stream.lua" \
	"http://127.0.0.1:$(cat "$tmp/p2")/v1/completions" >"$tmp/wrk2.out" 2>&1
sleep 0.5
kill "${pids[1]}" && wait "${pids[1]}" 2>/dev/null
awk '$3 == "recv" { print $1, 1 } $3 == "done" || $3 == "gone" { print $1, -1 }' "$tmp/s.log" |
	sort -n | awk -v want="$STREAMS" '{ n += $2; if (n > m) m = n }
		END { printf "sim concurrent streams: %d in progress at once (asked for %d)\n", m, want }'
awk '$3 == "recv" { r[$2] = $1 } $3 == "first" { d = ($1 - r[$2]) / 1e6 - 2000; n++; s += d; if (d > m) m = d }
	END { if (n) printf "sim first-token lateness at that load: mean %.2f ms, max %.2f ms over %d streams\n", s / n, m, n }' "$tmp/s.log"
