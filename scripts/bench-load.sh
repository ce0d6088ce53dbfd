#!/usr/bin/env bash
# bench-load.sh: llmbench's load generator measured against `llmbench sim` on loopback (part of
# `make bench`; a benchmark, not a test: it prints figures and fails only when it cannot run).
#
#  1. max sustained request rate, short responses (not streamed, 1 output token): rate mode,
#     Poisson, stepping up until achieved < 97% of offered or the level is invalid (p99 lag);
#  2. concurrent streams held (1k, 5k, 10k): TTFT 100 ms, ITL 50 ms, 40 tokens, closed loop;
#  3. measured minus true TTFT and chunk gaps at 1, 64, 512, 2048 streams: the harness's
#     t_first / chunk arrival times joined on request id with the sim's send log;
#     with how the chunks were timed (kernel own / read / harness) and the gaps of 0;
#  4. schedule lag p99 at 1,000 req/s (rate mode, Poisson).
#
# Every figure is read from the store (sqlite3) and `llmbench export`. Output: lines
# "figure<TAB>value<TAB>goal<TAB>note" in $OUT_TSV (default build/bench/load.tsv) and a table.
# Environment: LLMBENCH, RATES (the steps of 1.), STREAMS (2.), ACC_STREAMS (3.), STEP_S
# (seconds per rate step, default 3), LAG_RATE (1000), LAG_S (5), KEEP=1 keeps the temp dir,
# NICE=-15 runs the sim and the harness at that niceness (needs root), so that other work on a
# shared machine preempts them less (the figures then say so). RUN_ARGS: more options for every
# `llmbench run` (e.g. "--workers 2"); a value repeated in ACC_STREAMS ("512 512 512") runs again.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
LLMBENCH=${LLMBENCH:-$top/build/llmbench}
RATES=${RATES:-"2000 4000 6000 8000 10000 12000 15000 20000"}
STREAMS=${STREAMS:-"1000 5000 10000"}
ACC_STREAMS=${ACC_STREAMS:-"1 64 512 2048"}
STEP_S=${STEP_S:-3}
LAG_RATE=${LAG_RATE:-1000}
LAG_S=${LAG_S:-5}
OUT_TSV=${OUT_TSV:-$top/build/bench/load.tsv}
NICE=${NICE:-}
nice_cmd=()
if [ -n "$NICE" ]; then
	nice -n "$NICE" true 2>/dev/null && [ "$(nice -n "$NICE" nice)" = "$NICE" ] ||
		{ echo "bench-load: cannot run at niceness $NICE (it needs root)" >&2; exit 1; }
	nice_cmd=(nice -n "$NICE")
fi
mkdir -p "$(dirname "$OUT_TSV")"
: >"$OUT_TSV"

for t in sqlite3 python3; do
	command -v $t >/dev/null || { echo "bench-load: '$t' is needed (apt-get install $t)" >&2; exit 1; }
done
[ -x "$LLMBENCH" ] || { echo "bench-load: no '$LLMBENCH' (run make)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmbench-bench-load.XXXXXX")
sims=()
cleanup() {
	local p
	for p in "${sims[@]+"${sims[@]}"}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	[ -n "${KEEP:-}" ] && echo "bench-load: kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
say() { printf 'bench-load: %s\n' "$*" >&2; }
fig() { # figure value goal note
	set -- "$1" "$2" "$3" "$4${NICE:+; at niceness $NICE}"
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$OUT_TSV"; printf '  %-44s %-14s (goal %s) %s\n' "$1" "$2" "$3" "$4" >&2; }

# start_sim NAME [options]: a sim on a free port; sets SIM_PORT, SIM_PID
start_sim() {
	local name=$1 i
	shift
	rm -f "$tmp/$name.port"
	"${nice_cmd[@]}" "$LLMBENCH" sim --listen 127.0.0.1:0 --port-file "$tmp/$name.port" "$@" \
		>"$tmp/$name.out" 2>&1 &
	SIM_PID=$!
	sims+=("$SIM_PID")
	for ((i = 0; i < 100; i++)); do
		[ -s "$tmp/$name.port" ] && break
		sleep 0.05
	done
	[ -s "$tmp/$name.port" ] || { cat "$tmp/$name.out" >&2; say "sim '$name' did not start"; exit 1; }
	SIM_PORT=$(cat "$tmp/$name.port")
}
# CPU seconds the current sim has used (user + system)
sim_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / hz }' \
		"/proc/$SIM_PID/stat" 2>/dev/null || echo 0
}
stop_sim() {
	kill "$SIM_PID" 2>/dev/null || true
	wait "$SIM_PID" 2>/dev/null || true
}

# workload NAME PORT STREAM MAX_TOKENS LOAD_JSON: writes $tmp/NAME.json
workload() {
	cat >"$tmp/$1.json" <<EOF
{
  "name": "$1",
  "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$2/v1",
                "model": "sim", "api": "completions", "stream": $3,
                "timeout_ms": 120000, "connect_timeout_ms": 60000}],
  "dataset": {"path": "$top/datasets/prompts/llm-questions.txt", "format": "lines"},
  "generation": {"max_tokens": $4, "ignore_eos": true},
  "load": $5
}
EOF
}
# run NAME: llmbench run into $tmp/NAME.db (stderr to $tmp/NAME.err); keeps the process's last
# /proc/PID/schedstat (ns on CPU, ns runnable but waiting for a CPU, timeslices) in $tmp/NAME.sched
run() {
	local pid st rc=0
	rm -f "$tmp/$1.db" "$tmp/$1.db-wal" "$tmp/$1.db-shm" # a repeated step (ACC_STREAMS="512 512")
	# shellcheck disable=SC2086 # RUN_ARGS is a list of words
	"${nice_cmd[@]}" "$LLMBENCH" run "$tmp/$1.json" --db "$tmp/$1.db" --name "$1" --no-progress \
		${RUN_ARGS:-} >"$tmp/$1.log" 2>"$tmp/$1.err" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		st=$(cat "/proc/$pid/schedstat" 2>/dev/null) && echo "$st" >"$tmp/$1.sched"
		sleep 0.05
	done
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || { cat "$tmp/$1.err" >&2; return 1; }
}
# runq NAME: "waited X ms for a CPU" from the run's schedstat
runq() {
	awk '{ printf "waited %.0f ms for a CPU over %d timeslices", $2 / 1e6, $3 }' "$tmp/$1.sched" 2>/dev/null ||
		echo "run-queue wait unavailable"
}
# psi: the machine's CPU pressure (share of time some task waited for a CPU, last 10 s)
psi() {
	awk '/^some/ { sub("avg10=", "", $2); print $2 "%" }' /proc/pressure/cpu 2>/dev/null || echo "unavailable"
}

# metric DB NAME [LEVEL_IDX]: a level's summary value ("" when null)
metric() {
	sqlite3 "$1" "SELECT s.value FROM summaries s JOIN levels l ON l.id = s.level_id
		WHERE s.metric = '$2' AND l.idx = ${3:-0} LIMIT 1"
}
valid() { sqlite3 "$1" "SELECT valid || ' ' || coalesce(invalid_reason, '') FROM levels WHERE idx = ${2:-0}"; }
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "") print "unavailable"; else printf f "\n", v }'; }

say "machine: $(nproc) cores, ulimit -n $(ulimit -n) (hard $(ulimit -Hn)), load average $(cut -d' ' -f1-3 /proc/loadavg), CPU pressure $(psi)${NICE:+; sim and harness at niceness $NICE}"

# ---- 1. max sustained request rate ------------------------------------------------------
say "1. max sustained request rate (not streamed, 1 output token, Poisson, ${STEP_S} s per step)"
start_sim rate --ttft-ms 0 --itl-ms 0 --output-tokens 1
best=""      # highest step that kept up with a valid level
best_thr=""
kept=""      # highest step that kept up, lag bound or not
why="every step kept up"
for r in $RATES; do
	workload "rate$r" "$SIM_PORT" false 1 \
		"{\"mode\": \"rate\", \"levels\": [$r], \"duration_s\": $STEP_S, \"requests\": 0, \"arrival\": \"poisson\", \"warmup\": $((r / 10))}"
	c0=$(sim_cpu)
	run "rate$r" || { why="run failed at $r req/s"; break; }
	c1=$(sim_cpu)
	db=$tmp/rate$r.db
	ach=$(metric "$db" achieved_rate)
	thr=$(metric "$db" request_throughput)
	lag=$(metric "$db" lag_p99_ms)
	fail=$(metric "$db" requests_failed)
	cpu=$(metric "$db" harness_cpu_s)
	dur=$(metric "$db" duration_s)
	v=$(valid "$db")
	say "   offered $r req/s: achieved $(fmt "$ach" %.0f) sends/s, $(fmt "$thr" %.0f) completed/s, lag p99 $(fmt "$lag" %.3f) ms, failed $(fmt "$fail" %.0f); CPU: harness $(fmt "$cpu" %.2f) s, sim $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }') s, in $(fmt "$dur" %.2f) s; $(runq "rate$r"); CPU pressure $(psi); valid: $v"
	ok=$(awk -v a="$ach" -v t="$thr" -v r="$r" -v f="$fail" 'BEGIN { print (a != "" && t != "" && a >= 0.97 * r && t >= 0.97 * r && f == 0) }')
	if [ "$ok" != 1 ]; then
		why="at $r req/s: achieved $(fmt "$ach" %.0f) sends/s, $(fmt "$thr" %.0f) completed/s, $(fmt "$fail" %.0f) failed, lag p99 $(fmt "$lag" %.2f) ms"
		break
	fi
	kept=$r
	if [ "${v%% *}" = 1 ]; then
		[ -z "$best" ] || [ "$r" -gt "$best" ] && { best=$r; best_thr=$thr; }
	else
		why="$why; at $r req/s p99 lag $(fmt "$lag" %.2f) ms > 1 ms (invalid)"
		why=${why#every step kept up; }
	fi
done
stop_sim
fig "max sustained request rate, lag valid (req/s)" "${best:-unavailable: no step was valid}" ">= 10000" \
	"${best:+completed $(fmt "$best_thr" %.0f)/s; }$why"
fig "max request rate kept up, any lag (req/s)" "${kept:-unavailable: no step kept up}" "-" ""

say "1b. closed-loop throughput (not streamed, 1 token; 20,000 requests)"
start_sim closed --ttft-ms 0 --itl-ms 0 --output-tokens 1
for n in 64 256; do
	workload "closed$n" "$SIM_PORT" false 1 "{\"mode\": \"concurrency\", \"levels\": [$n], \"requests\": 20000, \"warmup\": 1000}"
	c0=$(sim_cpu)
	run "closed$n" || continue
	c1=$(sim_cpu)
	db=$tmp/closed$n.db
	fig "closed-loop throughput at $n in flight (req/s)" "$(fmt "$(metric "$db" request_throughput)" %.0f)" "-" \
		"CPU per request: harness $(awk -v c="$(metric "$db" harness_cpu_s)" 'BEGIN { printf "%.0f", c / 21000 * 1e6 }') us, sim $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.0f", (b - a) / 21000 * 1e6 }') us; harness $(runq "closed$n"); CPU pressure $(psi)"
done
stop_sim

# ---- 2. concurrent streams held ---------------------------------------------------------
say "2. concurrent streams held (TTFT 100 ms, ITL 50 ms, 40 tokens, 2 rounds each)"
start_sim streams --ttft-ms 100 --itl-ms 50 --output-tokens 40
for n in $STREAMS; do
	workload "streams$n" "$SIM_PORT" true 40 \
		"{\"mode\": \"concurrency\", \"levels\": [$n], \"requests\": $((2 * n))}"
	if ! run "streams$n"; then
		fig "concurrent streams held at $n" "unavailable: run failed" ">= 10000" "$(tail -n 1 "$tmp/streams$n.err")"
		continue
	fi
	db=$tmp/streams$n.db
	peak=$(metric "$db" inflight_peak)
	ok=$(metric "$db" requests_ok)
	fail=$(metric "$db" requests_failed)
	tok=$(metric "$db" output_token_throughput)
	ttft=$(metric "$db" ttft_p99_ms)
	itl=$(metric "$db" itl_p99_ms)
	cpu=$(metric "$db" harness_cpu_s)
	rss=$(metric "$db" harness_peak_rss_mib)
	dur=$(metric "$db" duration_s)
	ideal=$(awk -v n="$n" 'BEGIN { printf "%.0f", n * 40 / 2.05 }')
	fig "concurrent streams held at $n" "$(fmt "$peak" %.0f) in flight" ">= 10000" \
		"ok $(fmt "$ok" %.0f), failed $(fmt "$fail" %.0f); $(fmt "$tok" %.0f) tok/s (ideal ~$ideal); TTFT p99 $(fmt "$ttft" %.1f) ms (true 100); ITL p99 $(fmt "$itl" %.1f) ms (true 50); harness CPU $(fmt "$cpu" %.1f) s of $(fmt "$dur" %.1f) s, peak RSS $(fmt "$rss" %.0f) MiB; $(runq "streams$n"); CPU pressure $(psi)"
done
stop_sim

# ---- 3. measured minus true TTFT and chunk gaps ------------------------------------------
say "3. measured minus true TTFT and chunk gaps (sim send log; TTFT 100 ms, ITL 20 ms, 16 tokens)"
for n in $ACC_STREAMS; do
	start_sim "acc$n" --ttft-ms 100 --itl-ms 20 --output-tokens 16 --log "$tmp/acc$n.sim.log"
	reqs=$((n < 16 ? 16 : 2 * n))
	workload "acc$n" "$SIM_PORT" true 16 \
		"{\"mode\": \"concurrency\", \"levels\": [$n], \"requests\": $reqs, \"warmup\": $((n < 64 ? 4 : n / 4))}"
	if ! run "acc$n"; then
		stop_sim
		fig "TTFT error p50/p99 at $n streams (ms)" "unavailable: run failed" "p99 <= 1 at 512" ""
		continue
	fi
	stop_sim # flushes the send log
	"$LLMBENCH" export --db "$tmp/acc$n.db" --run "acc$n" --format jsonl --chunks --no-warmup \
		>"$tmp/acc$n.jsonl"
	python3 - "$tmp/acc$n.jsonl" "$tmp/acc$n.sim.log" >"$tmp/acc$n.res" <<'EOF'
import json, sys
sent = {}
for line in open(sys.argv[2]):
    f = line.split()
    if len(f) >= 4 and f[2] in ("first", "chunk"):
        sent.setdefault(f[1], []).append(int(f[0]))
ttft, gaps, missing = [], [], 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["status"] != "ok" or not r.get("chunk_times_ms"):
        continue
    s = sent.get(str(r["request_id"]))
    if not s or len(s) != len(r["chunk_times_ms"]):
        missing += 1
        continue
    m = [r["t_send_ns"] + round(c * 1e6) for c in r["chunk_times_ms"]]
    ttft.append((m[0] - s[0]) / 1e6)
    for k in range(1, len(m)):
        gaps.append(((m[k] - m[k - 1]) - (s[k] - s[k - 1])) / 1e6)
def pct(v, p):  # linear interpolation on sorted samples, as METRICS.md
    v = sorted(v)
    if not v:
        return float("nan")
    x = p * (len(v) - 1)
    i = int(x)
    return v[i] if i + 1 >= len(v) else v[i] + (v[i + 1] - v[i]) * (x - i)
print("%d %d %d %.3f %.3f %.3f %.3f %.3f %.3f" % (len(ttft), len(gaps), missing,
      pct(ttft, .5), pct(ttft, .99), pct(ttft, 1), pct(gaps, .5), pct(gaps, .99),
      pct([abs(g) for g in gaps], .99)))
EOF
	read -r nt ng miss t50 t99 tmax g50 g99 gabs99 <"$tmp/acc$n.res"
	cpu=$(metric "$tmp/acc$n.db" harness_cpu_s)
	dur=$(metric "$tmp/acc$n.db" duration_s)
	fig "TTFT error p50/p99 at $n streams (ms)" "$t50 / $t99" "p99 <= 1 at 512" \
		"max $tmax; $nt requests joined, $miss not joined; harness CPU $(fmt "$cpu" %.2f) s of $(fmt "$dur" %.2f) s; $(runq "acc$n"); CPU pressure $(psi)"
	fig "chunk gap error p50/p99 at $n streams (ms)" "$g50 / $g99" "-" "abs error p99 $gabs99; $ng gaps"
	fig "chunks timed: kernel own/read/harness at $n" \
		"$(fmt "$(metric "$tmp/acc$n.db" chunks_kernel_own)" %.0f) / $(fmt "$(metric "$tmp/acc$n.db" chunks_kernel_read)" %.0f) / $(fmt "$(metric "$tmp/acc$n.db" chunks_harness)" %.0f)" "-" \
		"docs/METRICS.md \"Chunk timing\"; chunk gaps of 0: $(fmt "$(metric "$tmp/acc$n.db" itl_zero_gaps)" %.0f)"
done

# ---- 4. schedule lag at 1k req/s ---------------------------------------------------------
say "4. schedule lag at $LAG_RATE req/s (Poisson, ${LAG_S} s, not streamed, 1 token)"
start_sim lag --ttft-ms 0 --itl-ms 0 --output-tokens 1
workload lag "$SIM_PORT" false 1 \
	"{\"mode\": \"rate\", \"levels\": [$LAG_RATE], \"duration_s\": $LAG_S, \"requests\": 0, \"arrival\": \"poisson\", \"warmup\": 100}"
if run lag; then
	db=$tmp/lag.db
	fig "schedule lag p99 at $LAG_RATE req/s (ms)" "$(fmt "$(metric "$db" lag_p99_ms)" %.3f)" "< 1" \
		"p50 $(fmt "$(metric "$db" lag_p50_ms)" %.3f), p99.9 $(fmt "$(metric "$db" lag_p999_ms)" %.3f), max $(fmt "$(metric "$db" lag_max_ms)" %.3f); achieved $(fmt "$(metric "$db" achieved_rate)" %.0f) req/s; valid: $(valid "$db"); $(runq lag); CPU pressure $(psi)"
else
	fig "schedule lag p99 at $LAG_RATE req/s (ms)" "unavailable: run failed" "< 1" ""
fi
stop_sim
say "figures in $OUT_TSV"
