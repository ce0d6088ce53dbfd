#!/usr/bin/env bash
# bench-workers.sh: the same load figures with 1 and 2 worker event loops (--workers), against
# `llmbench sim` on loopback (part of `make bench`; a benchmark, not a test: it prints figures and
# fails only when it cannot run). docs/performance.md "Workers" explains them.
#
#  1. closed loop, 64 in flight, short streamed requests (1 output token): req/s and harness CPU
#     per request (the whole process, every thread), REPEAT runs of each, 1 and 2 workers
#     alternating; the best run of each is the figure;
#  2. open loop (rate mode, Poisson, not streamed, 1 token): the highest step whose completions
#     and sends keep up (>= 97% of offered) with p99 schedule lag <= 1 ms, for 1 and 2 workers;
#  3. the efficiency: figure with 2 workers / (2 x figure with 1).
#
# Each figure is printed with the load average (1 min) read right after it: on a shared machine
# that says what else ran. Output: "figure<TAB>value<TAB>goal<TAB>note" lines in $OUT_TSV
# (default build/bench/workers.tsv). Environment: LLMBENCH, WORKERS ("1 2"), REQUESTS (10000),
# REPEAT (2), RATES ("2000 4000 6000 8000 10000 12000 15000"), STEP_S (2), KEEP=1, RUN_ARGS (more
# `llmbench run` options, e.g. "--set backends.0.rx_timestamps=harness").
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
LLMBENCH=${LLMBENCH:-$top/build/llmbench}
WORKERS=${WORKERS:-"1 2"}
REQUESTS=${REQUESTS:-10000}
REPEAT=${REPEAT:-2}
RATES=${RATES:-"2000 4000 6000 8000 10000 12000 15000"}
STEP_S=${STEP_S:-2}
OUT_TSV=${OUT_TSV:-$top/build/bench/workers.tsv}
mkdir -p "$(dirname "$OUT_TSV")"
: >"$OUT_TSV"
command -v sqlite3 >/dev/null || { echo "bench-workers: 'sqlite3' is needed" >&2; exit 1; }
[ -x "$LLMBENCH" ] || { echo "bench-workers: no '$LLMBENCH' (run make)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmbench-bench-workers.XXXXXX")
SIM_PID=
cleanup() {
	[ -n "$SIM_PID" ] && { kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; }
	[ -n "${KEEP:-}" ] && echo "bench-workers: kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
say() { printf 'bench-workers: %s\n' "$*" >&2; }
la() { cut -d' ' -f1 /proc/loadavg; }
fig() { # figure value goal note
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$OUT_TSV"
	printf '  %-52s %-12s (goal %s) %s\n' "$1" "$2" "$3" "$4" >&2
}
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "") print "unavailable"; else printf f "\n", v }'; }
start_sim() {
	local i
	rm -f "$tmp/sim.port"
	"$LLMBENCH" sim --listen 127.0.0.1:0 --port-file "$tmp/sim.port" "$@" >"$tmp/sim.out" 2>&1 &
	SIM_PID=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$tmp/sim.port" ] && break
		sleep 0.05
	done
	[ -s "$tmp/sim.port" ] || { cat "$tmp/sim.out" >&2; say "the sim did not start"; exit 1; }
	SIM_PORT=$(cat "$tmp/sim.port")
}
stop_sim() { kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; SIM_PID=; }
workload() { # NAME STREAM LOAD_JSON
	cat >"$tmp/$1.json" <<EOF
{"name": "$1",
 "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$SIM_PORT/v1",
               "model": "sim", "api": "completions", "stream": $2,
               "timeout_ms": 120000, "connect_timeout_ms": 60000}],
 "dataset": {"path": "$top/datasets/prompts/llm-questions.txt", "format": "lines"},
 "generation": {"max_tokens": 1, "ignore_eos": true},
 "load": $3}
EOF
}
run() { # NAME WORKERS
	# shellcheck disable=SC2086 # RUN_ARGS: more options, split on spaces
	"$LLMBENCH" run "$tmp/$1.json" --db "$tmp/$1.db" --name "$1" --no-progress --no-preflight \
		--workers "$2" ${RUN_ARGS:-} >"$tmp/$1.log" 2>"$tmp/$1.err" || { cat "$tmp/$1.err" >&2; return 1; }
}
metric() { sqlite3 "$1" "SELECT value FROM summaries WHERE metric = '$2' AND level_id > 0 LIMIT 1"; }
busy() { # DB: "worker k busy N%" for each worker, or the scheduler thread's
	sqlite3 "$1" "SELECT group_concat(replace(metric, 'worker_busy_pct:', 'worker ') || ' ' ||
		printf('%.0f', value) || '%', ', ') FROM summaries WHERE metric LIKE 'worker_busy_pct:%'" |
		grep . || echo "runner thread busy $(fmt "$(metric "$1" harness_busy_pct)" %.0f)%"
}

say "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 1. closed loop ----------------------------------------------------------------------
say "1. closed loop, 64 in flight, streamed, 1 token, $REQUESTS requests, $REPEAT runs each"
start_sim --ttft-ms 0 --itl-ms 0 --output-tokens 1
declare -A best_c cpu_c la_c
for ((rep = 0; rep < REPEAT; rep++)); do
	for w in $WORKERS; do
		name=closed-w$w-$rep
		workload "$name" true "{\"mode\": \"concurrency\", \"levels\": [64], \"requests\": $REQUESTS, \"warmup\": $((REQUESTS / 20))}"
		run "$name" "$w" || continue
		db=$tmp/$name.db
		thr=$(metric "$db" request_throughput)
		cpu=$(awk -v c="$(metric "$db" harness_cpu_s)" -v n="$REQUESTS" 'BEGIN { printf "%.1f", c / (n * 1.05) * 1e6 }')
		l=$(la)
		say "   $w worker(s), run $((rep + 1)): $(fmt "$thr" %.0f) req/s, harness CPU $cpu us/request, $(busy "$db"), valid $(sqlite3 "$db" "SELECT valid FROM levels"), load average $l"
		if [ -n "$thr" ] && awk -v a="$thr" -v b="${best_c[$w]:-0}" 'BEGIN { exit !(a > b) }'; then
			best_c[$w]=$thr cpu_c[$w]=$cpu la_c[$w]=$l
		fi
	done
done
stop_sim
for w in $WORKERS; do
	fig "closed loop, 64 in flight, $w worker(s) (req/s)" "$(fmt "${best_c[$w]:-}" %.0f)" "-" \
		"best of $REPEAT; harness CPU ${cpu_c[$w]:-?} us per request; load average ${la_c[$w]:-?}"
done

# ---- 2. open loop ------------------------------------------------------------------------
say "2. open loop: highest rate with p99 lag <= 1 ms (not streamed, 1 token, $STEP_S s per step)"
start_sim --ttft-ms 0 --itl-ms 0 --output-tokens 1
declare -A best_r note_r
for w in $WORKERS; do
	note_r[$w]="every step kept up"
	for r in $RATES; do
		name=rate-w$w-$r
		workload "$name" false "{\"mode\": \"rate\", \"levels\": [$r], \"duration_s\": $STEP_S, \"requests\": 0, \"arrival\": \"poisson\", \"warmup\": $((r / 10))}"
		run "$name" "$w" || { note_r[$w]="run failed at $r req/s"; break; }
		db=$tmp/$name.db
		ach=$(metric "$db" achieved_rate)
		thr=$(metric "$db" request_throughput)
		lag=$(metric "$db" lag_p99_ms)
		l=$(la)
		v=$(sqlite3 "$db" "SELECT valid FROM levels")
		say "   $w worker(s), $r req/s: sends $(fmt "$ach" %.0f)/s, completed $(fmt "$thr" %.0f)/s, lag p99 $(fmt "$lag" %.3f) ms, valid $v, $(busy "$db"), load average $l"
		if ! awk -v a="$ach" -v t="$thr" -v r="$r" 'BEGIN { exit !(a != "" && t != "" && a >= 0.97 * r && t >= 0.97 * r) }'; then
			note_r[$w]="$r req/s not kept up (sends $(fmt "$ach" %.0f)/s, completed $(fmt "$thr" %.0f)/s), load average $l"
			break
		fi
		if [ "$v" = 1 ]; then
			best_r[$w]=$r
			note_r[$w]="lag p99 $(fmt "$lag" %.3f) ms at $r, load average $l"
		fi
	done
done
stop_sim
for w in $WORKERS; do
	fig "open loop, highest rate with p99 lag <= 1 ms, $w worker(s) (req/s)" \
		"${best_r[$w]:-unavailable: no step valid}" ">= 10000" "${note_r[$w]}"
done

# ---- 3. efficiency -----------------------------------------------------------------------
eff() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "unavailable"; else printf "%.2f\n", a / (2 * b) }'; }
fig "efficiency, closed loop: rate(2) / (2 x rate(1))" "$(eff "${best_c[2]:-}" "${best_c[1]:-}")" "-" \
	"load average $(la) (2 cores shared with the sim: 1.0 needs 2 free cores for the client)"
fig "efficiency, open loop: rate(2) / (2 x rate(1))" "$(eff "${best_r[2]:-}" "${best_r[1]:-}")" "-" \
	"steps of $(echo "$RATES" | cut -d' ' -f1) req/s bound its resolution"
