#!/usr/bin/env bash
# `llmbench sim --log`: one line per event ("<t_ns> <id> <event> <n_tokens>"), times from
# CLOCK_MONOTONIC never decreasing, sends never early and close to the schedule (TTFT, ITL,
# --tokens-per-chunk, --slowdown, --prompt-ms-per-token, --jitter-ms), flushed while running;
# --capacity queues requests FIFO and the queueing shows in TTFT. Tolerances are generous: the
# machine is shared (a CPU-starved sim sends late): lateness is bounded generously above,
# earliness is not allowed at all.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 100 --itl-ms 20 --output-tokens 10 --log "$TMP/a.log" || exit 1
start_sim PORTC --ttft-ms 50 --itl-ms 10 --output-tokens 16 --capacity 1 --log "$TMP/c.log" || exit 1
start_sim PORTS --ttft-ms 50 --itl-ms 10 --output-tokens 8 --tokens-per-chunk 3 --slowdown 2 \
	--prompt-ms-per-token 5 --jitter-ms 4 --seed 3 --log "$TMP/s.log" || exit 1

post() { # port json id [curl args...]
	local port=$1 json=$2 id=$3
	shift 3
	curl -sS -N "http://127.0.0.1:$port/v1/completions" -d "$json" \
		${id:+-H "X-LLMBench-Request-Id: $id"} "$@"
}
# check_sched LOG ID TTFT_MS ITL_CHUNK_MS LATE_MS: each content chunk k leaves at
# recv + TTFT + (k-1) * ITL_CHUNK, never early, at most LATE_MS late.
check_sched() {
	awk -v id="$2" -v ttft="$3" -v itl="$4" -v late="$5" '
		$2 != id { next }
		$3 == "recv" { r = $1 }
		$3 == "first" || $3 == "chunk" {
			k++; d = ($1 - r) / 1e6 - ttft - (k - 1) * itl
			printf "chunk %d: %+.3f ms from schedule\n", k, d
			if (d < -0.001 || d > late) bad++
		}
		END { exit !(k > 0 && bad == 0) }' "$1"
}

test_expect_success 'a streamed request: recv, first, 9 chunk, done, in that order' '
	post $PORT "{\"prompt\": \"a b c\", \"stream\": true}" req-A >/dev/null && sleep 0.3 &&
	grep " req-A " a.log >r && cat r &&
	test "$(cut -d" " -f3 r | tr "\n" " ")" = "recv first chunk chunk chunk chunk chunk chunk chunk chunk chunk done " &&
	test "$(sed -n 1p r | cut -d" " -f4)" = 3 && test "$(sed -n 2p r | cut -d" " -f4)" = 1 &&
	test "$(tail -n 1 r | cut -d" " -f4)" = 10
'
test_expect_success 'chunks on schedule: TTFT 100 ms, ITL 20 ms, never early, < 40 ms late' '
	check_sched a.log req-A 100 20 40
'
test_expect_success 'the gaps between chunks are close to ITL (median within 3 ms)' '
	grep " req-A \(first\|chunk\) " a.log | awk "NR > 1 { print (\$1 - p) / 1e6 } { p = \$1 }" |
		sort -n >gaps && cat gaps | tr "\n" " " && test "$(wc -l <gaps)" = 9 &&
	awk "NR == 5 { exit !(\$1 > 17 && \$1 < 23) }" gaps
'
test_expect_success 'the log reaches the file while the sim runs (within 100 ms)' '
	post $PORT "{\"prompt\": \"a\"}" req-B >/dev/null && sleep 0.25 &&
	grep -q " req-B done 10$" a.log
'
test_expect_success 'not streamed: recv and done only; done at TTFT + 9 ITL' '
	grep " req-B " a.log >r && test "$(cut -d" " -f3 r | tr "\n" " ")" = "recv done " &&
	awk "{ t[NR] = \$1 } END { d = (t[2] - t[1]) / 1e6; print d; exit !(d >= 280 && d < 320) }" r
'
test_expect_success 'without X-LLMBench-Request-Id the id is sim-<n>' '
	post $PORT "{\"prompt\": \"a\", \"max_tokens\": 1}" "" >/dev/null && sleep 0.25 &&
	grep -Eq "^[0-9]+ sim-[0-9]+ done 1$" a.log
'
test_expect_success 'bad requests are logged as error with the status' '
	post $PORT "{\"prompt\": 3}" req-E >/dev/null && sleep 0.25 &&
	grep -q " req-E error 0 400$" a.log
'
test_expect_success 'times never decrease over the whole log' '
	awk "\$1 < p { bad++ } { p = \$1 } END { exit bad > 0 }" a.log
'
test_expect_success 'the log clock is CLOCK_MONOTONIC (comparable with the caller)' '
	command -v python3 >/dev/null || exit 0
	t0=$(python3 -c "import time; print(time.monotonic_ns())") &&
	post $PORT "{\"prompt\": \"a\", \"max_tokens\": 1}" req-M >/dev/null &&
	t1=$(python3 -c "import time; print(time.monotonic_ns())") && sleep 0.25 &&
	awk -v a="$t0" -v b="$t1" "\$2 == \"req-M\" && (\$1 < a || \$1 > b) { bad++ } END { exit bad > 0 }" a.log
'
test_expect_success '--tokens-per-chunk 3, --slowdown 2, --prompt-ms-per-token 5, --jitter-ms 4' '
	post $PORTS "{\"prompt\": \"one two three four\", \"stream\": true}" req-S >/dev/null && sleep 0.3 &&
	grep " req-S " s.log >r && cat r &&
	test "$(grep " \(first\|chunk\) " r | cut -d" " -f4 | tr "\n" " ")" = "3 3 2 " &&
	awk "\$3 == \"recv\" { r = \$1 } \$3 == \"first\" { d = (\$1 - r) / 1e6; print d; exit !(d >= 140 - 4 && d < 140 + 4 + 40) }" r &&
	awk "\$3 == \"first\" { f = \$1 } \$3 == \"chunk\" { k++; d = (\$1 - f) / 1e6 - k * 60; print d;
		if (d < -8 || d > 8 + 40) bad++ } END { exit bad > 0 }" r
'
test_expect_success '--capacity 1: three requests run one after another, FIFO' '
	for i in 1 2 3; do
		post $PORTC "{\"prompt\": \"a\", \"stream\": true}" q$i -o /dev/null &
		sleep 0.03
	done; wait && sleep 0.25 && cat c.log &&
	grep " q[123] first " c.log | cut -d" " -f2 | tr "\n" " " >order && test "$(cat order)" = "q1 q2 q3 " &&
	awk "{ t[\$2 \" \" \$3] = \$1 }
		END {
			for (i = 1; i <= 3; i++) {
				q = \"q\" i; start = t[q \" recv\"]
				if (i > 1 && t[\"q\" (i - 1) \" done\"] > start) start = t[\"q\" (i - 1) \" done\"]
				ttft = (t[q \" first\"] - t[q \" recv\"]) / 1e6; d = (t[q \" first\"] - start) / 1e6 - 50
				printf \"%s: TTFT %.1f ms, first token %+.2f ms from start + 50\\n\", q, ttft, d
				if (d < -0.001 || d > 40 || (i > 1 && ttft < 150)) bad++
			}
			exit bad > 0
		}" c.log
'
test_done
