#!/usr/bin/env bash
# `llmbench run --resume RUN` (docs/reliability.md): a run killed with kill -9 or stopped with
# SIGINT continues with the workload it stored; no request stored before the resume is sent
# again (the sim's log shows every request it received), every level ends with each of its
# requests stored once, and the run ends `done`.
. "$(dirname "$0")/../lib.sh"

REQ=300
start_sim PORT --ttft-ms 5 --itl-ms 2 --output-tokens 20 --log "$TMP/sim.log" || exit 1
start_sim DEAD --fault http_500 || exit 1
MONO_OFF=$(python3 -c 'import time; print(time.monotonic_ns() - time.time_ns())') || exit 1
mono_ns() { local r=${EPOCHREALTIME/./}; echo $((r * 1000 + MONO_OFF)); }
q() { sqlite3 "$TMP/$1.db" "$2"; }

# stop NAME SIGNAL DELAY: start a two-level run, send SIGNAL after DELAY s, keep what it stored.
stop() {
	(cd "$LB_TOP" && exec "$LLMBENCH" run workloads/smoke.json --db "$TMP/$1.db" --name "$1" \
		--no-progress --drain 0.2 --set "backends.0.base_url=http://127.0.0.1:$PORT/v1" \
		--set 'load.levels=[4,8]' --set load.requests=$REQ --set load.warmup=0 \
		>"$TMP/$1.out" 2>&1) &
	local pid=$!
	sleep "$3"
	kill -"$2" "$pid"
	wait "$pid"
	q "$1" "SELECT req_id FROM requests WHERE status = 'ok'" | sort >"$TMP/$1.before"
	echo "$1: $(wc -l <"$TMP/$1.before") requests stored ok before the resume," \
		"run $(q "$1" "SELECT status FROM runs")"
	test -s "$TMP/$1.before"
}

# resumed NAME: resume, then check nothing stored was sent again and every request is there once.
resumed() {
	local t0 again
	t0=$(mono_ns)
	(cd "$LB_TOP" && "$LLMBENCH" run --resume "$1" --db "$TMP/$1.db" --no-progress) \
		>"$TMP/$1.resume" 2>&1 || { cat "$TMP/$1.resume"; return 1; }
	sleep 0.2 # the sim's log reaches its file every 100 ms
	awk -v t="$t0" '$3 == "recv" && $1 > t { print $2 }' "$TMP/sim.log" | sort >"$TMP/$1.after"
	again=$(comm -12 "$TMP/$1.before" "$TMP/$1.after" | wc -l)
	echo "$1: resumed, $(wc -l <"$TMP/$1.after") requests sent, $again of them already stored"
	test "$again" = 0 &&
	test "$(q "$1" "SELECT status FROM runs")" = done &&
	test "$(q "$1" "SELECT group_concat(status) FROM levels ORDER BY idx")" = done,done &&
	test "$(q "$1" "SELECT count(*) FROM (SELECT level_id, seq FROM requests WHERE status = 'ok'
		GROUP BY level_id, seq HAVING count(*) > 1)")" = 0 &&
	test "$(q "$1" "SELECT group_concat(n) FROM (SELECT count(DISTINCT seq) n FROM requests
		WHERE status = 'ok' GROUP BY level_id ORDER BY level_id)")" = "$REQ,$REQ" &&
	test "$(q "$1" "PRAGMA integrity_check")" = ok
}

test_expect_success 'a run killed with kill -9 mid-level resumes without repeating requests' '
	stop killed KILL 1.2 && test "$(q killed "SELECT status FROM runs")" = running &&
	resumed killed &&
	# how its chunks were timed is not in the stored rows: unavailable for the resumed level,
	# counted for a level that ran whole after the resume
	q killed "SELECT s.level_id, r.level_id IS NOT NULL, s.value, s.n, s.note FROM summaries s
		LEFT JOIN summaries r ON r.level_id = s.level_id AND r.metric = '\''resumed'\''
		WHERE s.metric = '\''chunks_kernel_read'\'' ORDER BY s.level_id" >chunks && cat chunks &&
	test "$(grep -c "|1|||unavailable: resumed level" chunks)" -ge 1 &&
	test "$(q killed "SELECT count(*) FROM summaries s WHERE s.metric LIKE '\''chunks_%'\''
		AND s.value IS NOT NULL AND s.level_id NOT IN (SELECT level_id FROM summaries
		WHERE metric = '\''resumed'\'')")" = "$(( 3 * $(q killed "SELECT count(*) FROM levels
		WHERE id NOT IN (SELECT level_id FROM summaries WHERE metric = '\''resumed'\'')") ))"
'
test_expect_success 'an interrupted (SIGINT) run resumes the same way' '
	stop int INT 1.2 && test "$(q int "SELECT status FROM runs")" = interrupted &&
	resumed int
'
test_expect_code 2 'a done run cannot be resumed' '
	(cd "$LB_TOP" && "$LLMBENCH" run --resume killed --db "$TMP/killed.db" --no-progress) 2>err
	rc=$?; cat err; grep -q "is done: nothing to resume" err && exit $rc
'
# A run whose first backend finished its eval phase, stopped in the second backend's level:
# the resumed first backend runs its eval phase again, and each item is stored once.
cat >"$TMP/ev.json" <<EOF2
{"name": "resume-eval",
 "backends": [{"name": "a", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1", "api": "completions"},
              {"name": "b", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1", "api": "completions"}],
 "dataset": {"path": "$LB_TOP/datasets/prompts/llm-questions.txt", "format": "lines"},
 "generation": {"max_tokens": 20},
 "load": {"mode": "concurrency", "levels": [2], "requests": 60, "warmup": 0},
 "eval": {"qa": {"path": "$LB_TOP/datasets/qa/factual.jsonl", "limit": 12, "max_tokens": 8}}}
EOF2
test_expect_success 'a resumed backend whose eval phase had run stores each eval item once' '
	"$LLMBENCH" run "$TMP/ev.json" --db "$TMP/ev.db" --name ev --no-progress --drain 0.2 \
		>"$TMP/ev.out" 2>&1 &
	pid=$!
	end=$((SECONDS + 60))
	until [ "$(q ev "SELECT count(*) FROM levels l JOIN backends b ON b.id = l.backend_id
		WHERE b.name = '\''b'\''" 2>/dev/null)" = 1 ] || [ $SECONDS -ge $end ]; do sleep 0.05; done
	kill -INT $pid; wait $pid
	before=$(q ev "SELECT count(*) FROM evals e JOIN backends b ON b.id = e.backend_id WHERE b.name = '\''a'\''") &&
	echo "stopped: $(q ev "SELECT status FROM runs"), backend a has $before eval rows" &&
	test "$before" = 12 &&
	"$LLMBENCH" run --resume ev --db "$TMP/ev.db" --no-progress >"$TMP/ev.resume" 2>&1 ||
		{ cat "$TMP/ev.out" "$TMP/ev.resume"; false; } &&
	q ev "SELECT b.name, count(*), count(DISTINCT e.item_id) FROM evals e JOIN backends b
		ON b.id = e.backend_id GROUP BY b.name" >counts && cat counts &&
	test "$(cat counts)" = "a|12|12
b|12|12" &&
	test "$(q ev "SELECT status FROM runs")" = done
'
test_expect_success 'a failed run (no successful request) resumed against a good server stays failed, exit 3' '
	(cd "$LB_TOP" && "$LLMBENCH" run workloads/smoke.json --db "$TMP/dead.db" --name dead \
		--no-progress --no-preflight --set "backends.0.base_url=http://127.0.0.1:$DEAD/v1" \
		--set load.requests=4 >"$TMP/dead.out" 2>&1); test $? -eq 3 &&
	(cd "$LB_TOP" && "$LLMBENCH" run --resume dead --db "$TMP/dead.db" --no-progress \
		--set "backends.0.base_url=http://127.0.0.1:$PORT/v1" >"$TMP/res.out" 2>"$TMP/res.err")
	rc=$?; cat "$TMP/res.err"
	test $rc -eq 3 && test "$(q dead "SELECT status FROM runs")" = failed &&
	grep -q "2 levels had no successful request" "$TMP/res.err"
'
test_expect_code 2 'resume refuses a --set that changes what is measured, naming the key' '
	(cd "$LB_TOP" && "$LLMBENCH" run --resume dead --db "$TMP/dead.db" --no-progress \
		--set "load.levels=[2,8]") 2>"$TMP/set.err"
	rc=$?; cat "$TMP/set.err"
	grep -q "^llmbench: error: --set load.levels: --resume measures the workload stored" "$TMP/set.err" &&
	test "$(q dead "SELECT status FROM runs")" = failed && exit $rc
'
test_done
