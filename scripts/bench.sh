#!/usr/bin/env bash
# bench.sh: `make bench` (a benchmark, not a test: it prints figures). Runs
#   scripts/bench-load.sh    the load generator against `llmbench sim` on loopback
#   scripts/bench-model.sh   in-process pp/tg beside a direct llama.cpp loop (if present)
#   scripts/bench-report.sh  `llmbench report` over a store of 100k requests (if present)
#   scripts/bench-peers.sh   wrk, h2load and a Python asyncio+aiohttp client beside llmbench,
#                            against the same sim (llmbench's ratio to each)
#   scripts/bench-llama-bench.sh  bench-model beside the real llama-bench (same model, threads)
#   scripts/bench-scale.sh   4 and 8 merged shards vs one process, and merge speed (SKIP=scale)
#   scripts/bench-traffic.sh trace synthesis and replay lag, lag with server metrics scraped
#                            (SKIP=traffic, TRAFFIC_TIMEOUT, default 300 s)
#   scripts/bench-workers.sh the load figures with 1 and 2 worker event loops, and the efficiency
#                            (SKIP=workers; WORKERS_TIMEOUT, default 300 s)
# and prints one table of figures with the issue's goals, and the machine they came from.
# docs/performance.md explains each figure and holds the last recorded table.
# Environment: SKIP="model report peers llama-bench scale traffic" leaves those parts out; MODEL_TIMEOUT /
# REPORT_TIMEOUT / PEERS_TIMEOUT / LLAMA_BENCH_TIMEOUT (seconds, default 300 / 180 / 300 / 300)
# bound those parts so that `make bench` ends in about 10 minutes even on a
# busy machine (a part that runs out says so in the table); the parts' own variables pass through.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/bench
mkdir -p "$out"
export LLMBENCH=${LLMBENCH:-$top/build/llmbench}
SKIP=${SKIP:-}
MODEL_TIMEOUT=${MODEL_TIMEOUT:-300}
REPORT_TIMEOUT=${REPORT_TIMEOUT:-180}
PEERS_TIMEOUT=${PEERS_TIMEOUT:-300}
LLAMA_BENCH_TIMEOUT=${LLAMA_BENCH_TIMEOUT:-300}
t0=$(date +%s)

machine() { # LABEL for the load average
	local cpu mem
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
	echo "$(nproc) cores ($cpu), $mem, Linux $(uname -r), $(date -u +%Y-%m-%d), load average $1 $(cut -d' ' -f1-3 /proc/loadavg)"
}
echo "bench: machine: $(machine "at start")"
echo "bench: llmbench $("$LLMBENCH" --version 2>/dev/null | head -n 1)"

status_load=0
OUT_TSV=$out/load.tsv bash "$top/scripts/bench-load.sh" || status_load=$?

model_rows=""
model_note=""
if [[ " $SKIP " != *" model "* ]] && [ -f "$top/scripts/bench-model.sh" ]; then
	echo "bench: scripts/bench-model.sh (at most $MODEL_TIMEOUT s)" >&2
	rc=0
	timeout "$MODEL_TIMEOUT" bash "$top/scripts/bench-model.sh" >"$out/model.txt" 2>"$out/model.err" || rc=$?
	cat "$out/model.txt"
	if [ "$rc" = 124 ]; then
		model_note="unavailable: bench-model.sh took over $MODEL_TIMEOUT s (MODEL_TIMEOUT; a busy machine?)"
	elif [ "$rc" != 0 ]; then
		model_note="unavailable: bench-model.sh failed (exit $rc, see $out/model.err)"
	fi
	# rows "| pp512 | llmbench t/s | direct t/s | ratio | median ratio |"
	model_rows=$(awk -F'|' '$2 ~ /^ *(pp|tg)[0-9]/ { for (i = 2; i <= 6; i++) gsub(/^ +| +$/, "", $i);
		printf "| in-process %s (t/s) | %s | ratio >= 0.98 | direct llama.cpp %s; ratio of means %s, of medians %s |\n", $2, $3, $4, $5, $6 }' "$out/model.txt")
fi
report_rows=""
if [[ " $SKIP " != *" report "* ]] && [ -f "$top/scripts/bench-report.sh" ]; then
	echo "bench: scripts/bench-report.sh (at most $REPORT_TIMEOUT s)" >&2
	rc=0
	timeout "$REPORT_TIMEOUT" bash "$top/scripts/bench-report.sh" >"$out/report.txt" 2>"$out/report.err" || rc=$?
	cat "$out/report.txt"
	if [ "$rc" != 0 ]; then
		report_rows="| report over 100k requests | unavailable: bench-report.sh $([ "$rc" = 124 ] && echo "took over $REPORT_TIMEOUT s" || echo "failed (exit $rc)") | < 10 s | |"
	else
		report_rows=$(sed -n 's/^bench-report: //p' "$out/report.txt" | awk '{ printf "| report (bench-report) | %s | < 10 s | |\n", $0 }')
	fi
fi
peer_rows=""
if [[ " $SKIP " != *" peers "* ]] && [ -f "$top/scripts/bench-peers.sh" ]; then
	echo "bench: scripts/bench-peers.sh (at most $PEERS_TIMEOUT s)" >&2
	rc=0
	OUT_TSV=$out/peers.tsv timeout "$PEERS_TIMEOUT" bash "$top/scripts/bench-peers.sh" || rc=$?
	if [ "$rc" != 0 ]; then
		peer_rows="| peers (wrk, h2load, Python) | unavailable: bench-peers.sh $([ "$rc" = 124 ] && echo "took over $PEERS_TIMEOUT s" || echo "failed (exit $rc)") | | |"
	fi
	[ -s "$out/peers.tsv" ] && peer_rows="$peer_rows${peer_rows:+
}$(awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$out/peers.tsv")"
fi
lbench_rows=""
if [[ " $SKIP " != *" llama-bench "* ]] && [ -f "$top/scripts/bench-llama-bench.sh" ]; then
	echo "bench: scripts/bench-llama-bench.sh (at most $LLAMA_BENCH_TIMEOUT s)" >&2
	rc=0
	timeout "$LLAMA_BENCH_TIMEOUT" bash "$top/scripts/bench-llama-bench.sh" >"$out/llama-bench.txt" 2>"$out/llama-bench.err" || rc=$?
	cat "$out/llama-bench.txt"
	if [ "$rc" != 0 ]; then
		lbench_rows="| bench-model vs llama-bench | unavailable: bench-llama-bench.sh $([ "$rc" = 124 ] && echo "took over $LLAMA_BENCH_TIMEOUT s" || echo "failed (exit $rc)") | ratio >= 0.98 | |"
	elif grep -q '^bench-llama-bench: unavailable' "$out/llama-bench.txt"; then
		lbench_rows="| bench-model vs llama-bench | $(sed -n 's/^bench-llama-bench: //p' "$out/llama-bench.txt" | head -n 1) | ratio >= 0.98 | |"
	else
		lbench_rows=$(awk -F'|' '$2 ~ /^ *(pp|tg)[0-9]/ { for (i = 2; i <= 6; i++) gsub(/^ +| +$/, "", $i);
			printf "| in-process %s vs llama-bench (t/s) | %s | ratio >= 0.98 | llama-bench %s; ratio of means %s, of medians %s |\n", $2, $3, $4, $5, $6 }' "$out/llama-bench.txt")
	fi
fi
workers_rows=""
if [[ " $SKIP " != *" workers "* ]] && [ -f "$top/scripts/bench-workers.sh" ]; then
	echo "bench: scripts/bench-workers.sh (at most ${WORKERS_TIMEOUT:-300} s)" >&2
	rc=0
	OUT_TSV=$out/workers.tsv timeout "${WORKERS_TIMEOUT:-300}" bash "$top/scripts/bench-workers.sh" || rc=$?
	if [ "$rc" != 0 ]; then
		workers_rows="| worker event loops (1 and 2) | unavailable: bench-workers.sh $([ "$rc" = 124 ] && echo "took over ${WORKERS_TIMEOUT:-300} s" || echo "failed (exit $rc)") | | |"
	fi
	[ -s "$out/workers.tsv" ] && workers_rows="$workers_rows${workers_rows:+
}$(awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$out/workers.tsv")"
fi
scale_rows=""
if [[ " $SKIP " != *" scale "* ]] && [ -f "$top/scripts/bench-scale.sh" ]; then
	echo "bench: scripts/bench-scale.sh (at most ${SCALE_TIMEOUT:-420} s)" >&2
	rc=0
	REQUESTS=${SCALE_REQUESTS:-1000} REPEAT=2 MERGE_ROWS=${SCALE_MERGE_ROWS:-400000} \
		timeout "${SCALE_TIMEOUT:-420}" bash "$top/scripts/bench-scale.sh" >"$out/scale.txt" 2>"$out/scale.err" || rc=$?
	cat "$out/scale.txt"
	if [ "$rc" != 0 ]; then
		scale_rows="| sharded runs and merge | unavailable: bench-scale.sh $([ "$rc" = 124 ] && echo "took over ${SCALE_TIMEOUT:-420} s" || echo "failed (exit $rc)") | | |"
	else
		scale_rows=$(awk -F'\t' '$1 ~ / shards$/ { printf "| %s merged vs one process (achieved rate) | %s | within 2%% | TTFT p50 %s ms |\n", $1, $5, $6 }
			$2 == "8" && $1 ~ /^[0-9]+$/ { last = $0; split($0, f, "\t") }
			END { if (last != "") printf "| merge, %s rows from 8 stores | %s rows per s (wall) | >= 1,000,000 rows/s | %s rows per CPU s (two threads); peak RSS %s MiB |\n", f[1], f[4], f[6], f[7] }' "$out/scale.txt")
	fi
fi
traffic_rows=""
if [[ " $SKIP " != *" traffic "* ]] && [ -f "$top/scripts/bench-traffic.sh" ]; then
	echo "bench: scripts/bench-traffic.sh (at most ${TRAFFIC_TIMEOUT:-300} s)" >&2
	rc=0
	OUT_TSV=$out/traffic.tsv timeout "${TRAFFIC_TIMEOUT:-300}" bash "$top/scripts/bench-traffic.sh" \
		>"$out/traffic.txt" 2>"$out/traffic.err" || rc=$?
	cat "$out/traffic.txt"
	[ "$rc" = 0 ] ||
		traffic_rows="| traffic (trace, scraping) | unavailable: bench-traffic.sh $([ "$rc" = 124 ] && echo "took over ${TRAFFIC_TIMEOUT:-300} s" || echo "failed (exit $rc)") | | |"
	[ -s "$out/traffic.tsv" ] && traffic_rows="$traffic_rows${traffic_rows:+
}$(awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$out/traffic.tsv")"
fi

echo
echo "| figure | value | goal | note |"
echo "| --- | --- | --- | --- |"
if [ -s "$out/load.tsv" ]; then
	awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$out/load.tsv"
else
	echo "| load figures | unavailable: bench-load.sh failed (exit $status_load) | | |"
fi
[ -n "$model_note" ] && echo "| in-process pp/tg vs direct llama.cpp | $model_note | ratio >= 0.98 | |"
[ -n "$model_rows" ] && echo "$model_rows"
[ -n "$report_rows" ] && echo "$report_rows"
[ -n "$peer_rows" ] && echo "$peer_rows"
[ -n "$lbench_rows" ] && echo "$lbench_rows"
[ -n "$scale_rows" ] && echo "$scale_rows"
[ -n "$traffic_rows" ] && echo "$traffic_rows"
[ -n "$workers_rows" ] && echo "$workers_rows"
echo
echo "bench: machine: $(machine "at the end")"
echo "bench: took $(($(date +%s) - t0)) s"
exit "$status_load"
