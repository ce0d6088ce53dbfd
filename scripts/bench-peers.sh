#!/usr/bin/env bash
# bench-peers.sh: llmbench beside its peers, against the same `llmbench sim`, in the same run
# (part of `make bench`; a benchmark, not a test: it prints figures). Issue 17, point 4.
#
#  A. closed loop, CONC (64) in flight, short streamed requests (sim: TTFT 0, ITL 0, 1 token,
#     `stream: true`): llmbench run (its default HTTP client, the native one, then libcurl),
#     wrk and h2load (raw HTTP/1.1, no SSE parsing: the client-side
#     HTTP limit of this machine), and tests/bench/peer_client.py (Python asyncio + aiohttp,
#     measuring as `vllm bench serve` does). Figure: requests/s, and llmbench's ratio to each.
#  B. TTFT error at ACC_N (512) streams (sim: TTFT 100 ms, ITL 20 ms, 16 tokens, --log): llmbench
#     and the Python client in turn against one sim; each client's first-chunk time minus the
#     sim's first send (its send log, joined on X-LLMBench-Request-Id). Figure: p50/p99 in ms,
#     and llmbench's p99 as a share of the Python client's.
#
# A peer that is not installed, or fails, or runs out of its time is printed as unavailable with
# the reason; every tool runs under `timeout` (PEER_TIMEOUT, default 120 s each).
# Environment: LLMBENCH, CONC (64), REQS (llmbench and h2load requests in A, 20000), WRK_S (wrk
# seconds, 5), WRK_THREADS (1: one thread, as llmbench), PY_REQS (Python requests in A, 3000),
# ACC_N (512), PEER_TIMEOUT, OUT_TSV (default build/bench/peers.tsv, lines
# figure<TAB>value<TAB>goal<TAB>note), KEEP=1 keeps the temp dir.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
LLMBENCH=${LLMBENCH:-$top/build/llmbench}
CONC=${CONC:-64}
REQS=${REQS:-20000}
WRK_S=${WRK_S:-5}
WRK_THREADS=${WRK_THREADS:-1}
PY_REQS=${PY_REQS:-3000}
ACC_N=${ACC_N:-512}
PEER_TIMEOUT=${PEER_TIMEOUT:-120}
OUT_TSV=${OUT_TSV:-$top/build/bench/peers.tsv}
mkdir -p "$(dirname "$OUT_TSV")"
: >"$OUT_TSV"
say() { printf 'bench-peers: %s\n' "$*" >&2; }
fig() { # figure value note [goal]
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "${4:--}" "$3" >>"$OUT_TSV"
	printf '  %-52s %-16s %s%s\n' "$1" "$2" "$3" "${4:+ (goal: $4)}" >&2
}
[ -x "$LLMBENCH" ] || { say "no '$LLMBENCH' (run make)"; exit 1; }
command -v sqlite3 >/dev/null || { say "'sqlite3' is needed"; exit 1; }

# a python that has aiohttp (the Debian package installs it for /usr/bin/python3)
py=""
py_why="no python3 with aiohttp (apt-get install python3-aiohttp)"
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import aiohttp' 2>/dev/null; then
		py=$p
		break
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmbench-bench-peers.XXXXXX")
sim_pid=""
cleanup() {
	[ -n "$sim_pid" ] && { kill "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null; }
	[ -n "${KEEP:-}" ] && say "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

start_sim() { # NAME [options]: sets port, sim_pid
	local name=$1 i
	shift
	"$LLMBENCH" sim --listen 127.0.0.1:0 --port-file "$tmp/$name.port" "$@" >"$tmp/$name.sim.out" 2>&1 &
	sim_pid=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$tmp/$name.port" ] && break
		sleep 0.05
	done
	[ -s "$tmp/$name.port" ] || { cat "$tmp/$name.sim.out" >&2; say "sim '$name' did not start"; exit 1; }
	port=$(cat "$tmp/$name.port")
}
stop_sim() {
	kill "$sim_pid" 2>/dev/null
	wait "$sim_pid" 2>/dev/null
	sim_pid=""
}
# workload NAME CONC REQUESTS WARMUP MAX_TOKENS: streamed completions against $port
workload() {
	cat >"$tmp/$1.json" <<EOF
{
  "name": "$1",
  "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$port/v1",
                "model": "sim", "api": "completions", "stream": true,
                "timeout_ms": 120000, "connect_timeout_ms": 60000}],
  "dataset": {"path": "$top/datasets/prompts/llm-questions.txt", "format": "lines"},
  "generation": {"max_tokens": $5, "ignore_eos": true},
  "load": {"mode": "concurrency", "levels": [$2], "requests": $3, "warmup": $4}
}
EOF
}
metric() {
	sqlite3 "$1" "SELECT s.value FROM summaries s JOIN levels l ON l.id = s.level_id
		WHERE s.metric = '$2' AND l.idx = 0 LIMIT 1" 2>/dev/null
}
ratio() { # A B: A / B, or "unavailable"
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 <= 0) print "unavailable"; else printf "%.2f\n", a / b }'
}
# run_to NAME CMD...: CMD under timeout into $tmp/NAME.out/.err; sets why on failure
run_to() {
	local name=$1 rc=0
	shift
	timeout "$PEER_TIMEOUT" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
	why=""
	if [ "$rc" = 124 ]; then
		why="took over $PEER_TIMEOUT s (PEER_TIMEOUT)"
	elif [ "$rc" != 0 ]; then
		why="exit $rc: $(tail -n 1 "$tmp/$name.err" | cut -c1-120)"
	fi
	[ "$rc" = 0 ]
}
load_note="load average $(cut -d' ' -f1-3 /proc/loadavg), CPU pressure $(awk '/^some/ { sub("avg10=", "", $2); print $2 "%" }' /proc/pressure/cpu 2>/dev/null)"
say "machine: $(nproc) cores, $load_note"

# ---- A. closed loop, short streamed requests ---------------------------------------------
say "A. closed loop, $CONC in flight, short streamed requests (sim: TTFT 0, ITL 0, 1 token)"
start_sim short --ttft-ms 0 --itl-ms 0 --output-tokens 1
url="http://127.0.0.1:$port/v1/completions"
body='{"model":"sim","prompt":"What is the capital of France?","max_tokens":1,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}'
printf '%s' "$body" >"$tmp/body.json"

lb_rate=""
workload closed "$CONC" "$REQS" 1000 1
if run_to llmbench "$LLMBENCH" run "$tmp/closed.json" --db "$tmp/closed.db" --name closed --no-progress; then
	lb_rate=$(metric "$tmp/closed.db" request_throughput)
	lb_cpu=$(metric "$tmp/closed.db" harness_cpu_s)
	fig "llmbench, closed loop $CONC, streamed 1-token (req/s)" "$(printf '%.0f' "$lb_rate")" \
		"harness CPU $(awk -v c="$lb_cpu" -v n="$REQS" 'BEGIN { printf "%.0f", c / (n + 1000) * 1e6 }') us/request"
else
	fig "llmbench, closed loop $CONC, streamed 1-token (req/s)" "unavailable" "llmbench run $why"
fi
# the same with libcurl as the HTTP client (the default, http_client auto, is the native one)
if run_to llmbenchC env LLMBENCH_HTTP_CLIENT=libcurl "$LLMBENCH" run "$tmp/closed.json" \
	--db "$tmp/closed-curl.db" --name closed --no-progress; then
	c_rate=$(metric "$tmp/closed-curl.db" request_throughput)
	c_cpu=$(metric "$tmp/closed-curl.db" harness_cpu_s)
	fig "llmbench with libcurl, closed loop $CONC (req/s)" "$(printf '%.0f' "$c_rate")" \
		"harness CPU $(awk -v c="$c_cpu" -v n="$REQS" 'BEGIN { printf "%.0f", c / (n + 1000) * 1e6 }') us/request; native / libcurl = $(ratio "$lb_rate" "$c_rate")"
else
	fig "llmbench with libcurl, closed loop $CONC (req/s)" "unavailable" "llmbench run $why"
fi

if command -v wrk >/dev/null; then
	cat >"$tmp/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
EOF
	if run_to wrk wrk -t"$WRK_THREADS" -c"$CONC" -d"${WRK_S}s" -s "$tmp/post.lua" "$url"; then
		w=$(awk '/^Requests\/sec:/ { print $2 }' "$tmp/wrk.out")
		bad=$(awk '/Non-2xx/ { print $NF }' "$tmp/wrk.out")
		fig "wrk $WRK_THREADS thread, $CONC connections (req/s)" "${w:-unavailable}" \
			"llmbench / wrk = $(ratio "$lb_rate" "$w")${bad:+; $bad non-2xx}" "llmbench >= 0.6 x wrk"
	else
		fig "wrk (req/s)" "unavailable" "wrk $why"
	fi
else
	fig "wrk (req/s)" "unavailable" "wrk not installed (apt-get install wrk)"
fi

if command -v h2load >/dev/null; then
	if run_to h2load h2load --h1 -t 1 -c "$CONC" -m 1 -n "$REQS" -d "$tmp/body.json" \
		-H 'Content-Type: application/json' "$url"; then
		h=$(awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($i == "req/s,") { print $(i - 1); exit } }' "$tmp/h2load.out")
		fails=$(awk '/^requests:/ { for (i = 1; i <= NF; i++) if ($i == "failed,") print $(i - 1) }' "$tmp/h2load.out")
		fig "h2load --h1 1 thread, $CONC connections (req/s)" "${h:-unavailable}" \
			"llmbench / h2load = $(ratio "$lb_rate" "$h"); ${fails:-?} failed"
	else
		fig "h2load (req/s)" "unavailable" "h2load $why"
	fi
else
	fig "h2load (req/s)" "unavailable" "h2load not installed (apt-get install nghttp2-client)"
fi

py_rate=""
if [ -n "$py" ]; then
	if run_to pyA "$py" "$top/tests/bench/peer_client.py" --url "$url" --concurrency "$CONC" \
		--requests "$PY_REQS" --warmup 200 --max-tokens 1; then
		py_rate=$("$py" -c 'import json,sys; print(json.load(sys.stdin)["req_per_s"])' <"$tmp/pyA.out")
		py_cpu=$("$py" -c 'import json,sys; d=json.load(sys.stdin); print("%.0f us CPU/request, %d failed" % (d["cpu_s"] / max(d["requests"], 1) * 1e6, d["failed"]))' <"$tmp/pyA.out")
		fig "Python asyncio+aiohttp, $CONC in flight (req/s)" "$(printf '%.0f' "$py_rate")" \
			"llmbench / Python = $(ratio "$lb_rate" "$py_rate"); $py_cpu"
	else
		fig "Python asyncio+aiohttp (req/s)" "unavailable" "peer_client.py $why"
	fi
else
	fig "Python asyncio+aiohttp (req/s)" "unavailable" "$py_why"
fi
stop_sim

# ---- B. TTFT error at ACC_N streams, truth from the send log ------------------------------
say "B. TTFT error at $ACC_N streams (sim: TTFT 100 ms, ITL 20 ms, 16 tokens; send log)"
start_sim acc --ttft-ms 100 --itl-ms 20 --output-tokens 16 --log "$tmp/acc.sim.log"
url="http://127.0.0.1:$port/v1/completions"
workload acc "$ACC_N" $((2 * ACC_N)) $((ACC_N / 4)) 16
lb_ok=0
run_to llmbenchB "$LLMBENCH" run "$tmp/acc.json" --db "$tmp/acc.db" --name acc --no-progress && lb_ok=1
lb_why=$why
py_ok=0
py_whyB=$py_why
if [ -n "$py" ]; then
	run_to pyB "$py" "$top/tests/bench/peer_client.py" --url "$url" --concurrency "$ACC_N" \
		--requests $((2 * ACC_N)) --warmup $((ACC_N / 4)) --max-tokens 16 --id-prefix py- \
		--records "$tmp/py.records" && py_ok=1
	py_whyB="peer_client.py $why"
fi
stop_sim # flushes the send log
[ "$lb_ok" = 1 ] && "$LLMBENCH" export --db "$tmp/acc.db" --run acc --format jsonl --chunks --no-warmup \
	>"$tmp/acc.jsonl" 2>/dev/null
# "<n> <p50> <p99>" of first-chunk time minus the sim's first send, per client
join_py=${py:-python3}
"$join_py" - "$tmp/acc.sim.log" "$tmp/acc.jsonl" "$tmp/py.records" >"$tmp/acc.res" <<'EOF'
import json, os, sys
first = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 4 and f[2] == "first":
        first.setdefault(f[1], int(f[0]))
def pct(v, p):
    v = sorted(v)
    if not v:
        return float("nan")
    x = p * (len(v) - 1)
    i = int(x)
    return v[i] if i + 1 >= len(v) else v[i] + (v[i + 1] - v[i]) * (x - i)
def show(name, err):
    print("%s %d %.3f %.3f" % (name, len(err), pct(err, 0.5), pct(err, 0.99)))
err = []
if os.path.exists(sys.argv[2]) and os.path.getsize(sys.argv[2]):
    for line in open(sys.argv[2]):
        r = json.loads(line)
        s = first.get(str(r["request_id"]))
        if r["status"] == "ok" and r.get("chunk_times_ms") and s is not None:
            err.append((r["t_send_ns"] + round(r["chunk_times_ms"][0] * 1e6) - s) / 1e6)
    show("llmbench", err)
err = []
if os.path.exists(sys.argv[3]):
    for line in open(sys.argv[3]):
        rid, t = line.split()
        if rid in first:
            err.append((int(t) - first[rid]) / 1e6)
    show("python", err)
EOF
lb_p99=""
if [ "$lb_ok" = 1 ] && read -r _ n p50 p99 < <(grep '^llmbench ' "$tmp/acc.res"); then
	lb_p99=$p99
	fig "llmbench TTFT error p50/p99 at $ACC_N streams (ms)" "$p50 / $p99" "$n requests joined with the send log" "p99 <= 1 ms at 512"
else
	fig "llmbench TTFT error at $ACC_N streams (ms)" "unavailable" "llmbench run ${lb_why:-gave no joinable requests}"
fi
if [ "$py_ok" = 1 ] && read -r _ n p50 p99 < <(grep '^python ' "$tmp/acc.res"); then
	fig "Python asyncio+aiohttp TTFT error p50/p99 at $ACC_N streams (ms)" "$p50 / $p99" \
		"$n requests; llmbench's p99 / Python's = $(awk -v a="$lb_p99" -v b="$p99" 'BEGIN { if (a == "" || b <= 0) print "unavailable"; else printf "%.3f", a / b }')"
else
	fig "Python asyncio+aiohttp TTFT error at $ACC_N streams (ms)" "unavailable" "$py_whyB"
fi
say "done; $load_note at the start, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
