#!/usr/bin/env bash
# bench-traffic.sh: figures of issue 13's speed goals (a benchmark, not a test: it prints figures
# and fails only when it cannot run). Against `llmbench sim` on loopback:
#  1. synthesizing the prompts of a 100,000-line trace (trace gen, then trace stats --synthesize:
#     wall and CPU seconds; goal <= 5 s);
#  2. schedule lag p99 of trace replay beside the open loop's at the same rate (LAG_RATE req/s,
#     constant gaps, LAG_N requests; goal <= 1 ms);
#  3. the open loop's lag p99 with the server's metrics scraped every 100 ms beside without,
#     REPS interleaved pairs (a busy machine drifts: pairs run back to back), each with the load
#     average at its end, and the medians (goal: no measurable difference).
# Environment: LLMBENCH, LAG_RATE (1000), LAG_N (5000), SYN_N (100000), REPS (3), KEEP=1 keeps
# the temp dir, OUT_TSV=FILE also writes "figure<TAB>value<TAB>goal<TAB>note" rows (make bench).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
LLMBENCH=${LLMBENCH:-$top/build/llmbench}
LAG_RATE=${LAG_RATE:-1000}
LAG_N=${LAG_N:-5000}
SYN_N=${SYN_N:-100000}
REPS=${REPS:-3}
command -v sqlite3 >/dev/null || { echo "bench-traffic: sqlite3 is needed" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmbench-bench-traffic.XXXXXX")
sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && { kill "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null; }
	[ -n "${KEEP:-}" ] && echo "bench-traffic: kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
fig() {
	printf '  %-52s %-14s (goal %s) %s\n' "$1" "$2" "$3" "$4"
	[ -z "${OUT_TSV:-}" ] || printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$OUT_TSV"
}
[ -z "${OUT_TSV:-}" ] || : >"$OUT_TSV"
load1() { cut -d' ' -f1 /proc/loadavg; }
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "bench-traffic: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. synthesis
"$LLMBENCH" trace gen --requests "$SYN_N" --rate 100 --input-tokens 256-2048 --output-tokens 16-64 \
	--reuse 0.5 -o "$tmp/big.jsonl"
/usr/bin/env time -f "%e %U %S" -o "$tmp/syn.time" "$LLMBENCH" trace stats --synthesize \
	"$tmp/big.jsonl" >"$tmp/syn.out"
read -r wall user sys <"$tmp/syn.time"
tok=$(awk '/^synthesized/ { print $4 }' "$tmp/syn.out")
fig "synthesize $SYN_N-line trace ($tok tokens)" "${wall} s wall" "<= 5 s" \
	"$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f s CPU (user %.2f + sys %.2f)", u + s, u, s }'); load $(cut -d' ' -f1 /proc/loadavg)"

# 2. and 3. lag
"$LLMBENCH" sim --listen 127.0.0.1:0 --port-file "$tmp/port" --ttft-ms 1 --itl-ms 1 \
	--output-tokens 1 >"$tmp/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port")
"$LLMBENCH" trace gen --requests "$LAG_N" --rate "$LAG_RATE" --arrival constant --input-tokens 16 \
	--output-tokens 1 -o "$tmp/lag.jsonl"
cat >"$tmp/w.json" <<EOF
{"name": "bench-traffic",
 "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$port/v1",
               "model": "m", "api": "completions", "stream": false}],
 "dataset": {"path": "$tmp/lag.jsonl", "format": "trace"},
 "generation": {"max_tokens": 1},
 "load": {"mode": "rate", "levels": [$LAG_RATE], "requests": $LAG_N, "arrival": "constant",
          "lag_bound_ms": 1000}}
EOF
lag() { # name sets...: p99 lag of the run's level
	local name=$1
	shift
	"$LLMBENCH" run "$tmp/w.json" --db "$tmp/$name.db" --name "$name" --no-progress --no-preflight "$@" >/dev/null 2>&1
	sqlite3 "$tmp/$name.db" "SELECT printf('%.3f', value) FROM summaries WHERE metric = 'lag_p99_ms' AND level_id > 0"
}
trace=$(lag trace --set 'load={"mode": "trace", "levels": [1], "lag_bound_ms": 1000}')
fig "trace replay p99 lag at $LAG_RATE req/s" "$trace ms" "<= 1 ms" "gaps from the trace; load $(load1)"
p50() { sqlite3 "$tmp/$1.db" "SELECT printf('%.3f', value) FROM summaries WHERE metric = 'lag_p50_ms' AND level_id > 0"; }
: >"$tmp/open.txt"
: >"$tmp/scraped.txt"
pairs=""
for r in $(seq "$REPS"); do
	o=$(lag "open$r")
	lo=$(load1)
	c=$(lag "scraped$r" --set 'server_metrics={"interval_ms": 100}')
	lc=$(load1)
	n=$(sqlite3 "$tmp/scraped$r.db" "SELECT count(*) FROM server_scrapes WHERE ok = 1")
	echo "$o" >>"$tmp/open.txt"
	echo "$c" >>"$tmp/scraped.txt"
	pairs="$pairs${pairs:+; }$o vs $c ms (load $lo, $lc; $n scrapes)"
	echo "  pair $r: p99 (p50) lag open loop $o ($(p50 "open$r")) ms at load $lo, with scraping $c ($(p50 "scraped$r")) ms at load $lc, $n scrapes"
done
om=$(median <"$tmp/open.txt")
cm=$(median <"$tmp/scraped.txt")
fig "open loop p99 lag at $LAG_RATE req/s (median of $REPS)" "$om ms" "<= 1 ms" "baseline"
fig "same, server metrics scraped every 100 ms (median of $REPS)" "$cm ms" "= baseline" \
	"$(awk -v a="$om" -v b="$cm" 'BEGIN { printf "difference %+.3f ms", b - a }'); pairs: $pairs"
