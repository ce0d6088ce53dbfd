#!/usr/bin/env bash
# The gate on its own project (issue 8's dogfood): workloads/ci-gate.json (3 repetitions per
# level, its own gate rules plus the defaults) against `llmbench sim` with 50 ms TTFT and
# 10 ms ITL (1 ms seeded jitter; shorter timings drown in scheduling noise on a loaded 2-core
# machine, where a 30% slowdown of 5 ms ITL is 1.5 ms). 21 runs against one simulator make 20 identical pairs, each of
# which must pass (20 of 20); a candidate against a simulator 30% slower (--slowdown 1.3) must
# fail with exit 1, against one baseline and against the history of the last 10 runs.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 50 --itl-ms 10 --jitter-ms 1 --seed 7 || exit 1
start_sim SLOW --ttft-ms 50 --itl-ms 10 --jitter-ms 1 --seed 7 --slowdown 1.3 || exit 1
DB=$TMP/dogfood.db
run() { # name port
	(cd "$LB_TOP" && "$LLMBENCH" run workloads/ci-gate.json --db "$DB" --name "$1" --no-progress \
		--set backends.0.base_url="http://127.0.0.1:$2/v1" --set load.levels='[4]' \
		--set load.requests=8 --set generation.max_tokens=8) >"$TMP/run-$1.out" 2>&1 ||
		{ cat "$TMP/run-$1.out"; return 1; }
}

test_expect_success '21 runs of the CI workload against one simulator (3 repetitions each)' '
	for i in $(seq 0 20); do run "r$i" "$PORT" || exit 1; done &&
	test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM levels l JOIN runs r ON r.id = l.run_id
		WHERE r.name = '"'"'r0'"'"'")" = 3 &&
	test "$(sqlite3 "$DB" "SELECT group_concat(rep) FROM levels l JOIN runs r ON r.id = l.run_id
		WHERE r.name = '"'"'r0'"'"' ORDER BY rep")" = "0,1,2"
'

test_expect_success 'unchanged candidates pass: 20 of 20 identical pairs' '
	pass=0
	for i in $(seq 1 20); do
		"$LLMBENCH" gate --db "$DB" --baseline "r$((i - 1))" --candidate "r$i" >"$TMP/g$i.out" 2>&1
		rc=$?
		if [ $rc = 0 ]; then pass=$((pass + 1)); else echo "pair $i: exit $rc"; grep -v "^pass" "$TMP/g$i.out"; fi
	done
	echo "$pass of 20 identical pairs passed"
	test $pass = 20
'

test_expect_success 'a candidate 30% slower fails with exit 1 (baseline run)' '
	run slow "$SLOW" &&
	{ "$LLMBENCH" gate --db "$DB" --baseline r20 --candidate slow --junit "$TMP/slow.xml" \
		--summary "$TMP/slow.md" >"$TMP/slow.out"; test $? = 1; } && cat "$TMP/slow.out" &&
	grep -q "^FAIL sim/concurrency=4 ttft_p50_ms" "$TMP/slow.out" &&
	grep -q "^FAIL sim/concurrency=4 tpot_p50_ms" "$TMP/slow.out" &&
	grep -q "test welch" "$TMP/slow.out" &&
	python3 -c "
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
assert r.tag == \"testsuites\" and int(r.get(\"failures\")) >= 2
assert all(c.find(\"failure\") is None or \"p-value\" in c.find(\"failure\").get(\"message\")
           for c in r.iter(\"testcase\"))
" "$TMP/slow.xml" &&
	grep -q "^| \*\*FAIL\*\* | sim/concurrency=4 |" "$TMP/slow.md"
'

test_expect_success 'the slower candidate also fails against the history of the last 10 runs' '
	{ "$LLMBENCH" gate --db "$DB" --history 10 --candidate slow >"$TMP/h.out"; test $? = 1; } &&
	cat "$TMP/h.out" && grep -q "the last 10 earlier runs of .ci-gate." "$TMP/h.out" &&
	echo "{\"defaults\": true}" >"$TMP/defaults.json" &&
	{ "$LLMBENCH" gate --db "$DB" --history 10 --candidate slow --rules "$TMP/defaults.json" \
		>"$TMP/h1.out"; test $? = 1; } && cat "$TMP/h1.out" &&
	grep -q "^FAIL sim/concurrency=4 .*test history, .*outside the 99% prediction interval of 10 runs" "$TMP/h1.out"
'

test_expect_success 'an unchanged candidate passes against the history of the last 10 runs' '
	"$LLMBENCH" gate --db "$DB" --history 10 --candidate r20 >"$TMP/h2.out" ||
		{ cat "$TMP/h2.out"; exit 1; }
'
test_done
