#!/usr/bin/env bash
# `llmbench run --resume RUN` continues an interrupted run without repeating finished requests:
# finished levels are skipped, the interrupted level gets only its missing requests, cancelled
# ones run again, and the run ends `done` with every request exactly once. A run whose process
# still runs is not resumed (two writers would store its requests twice).
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 10 --itl-ms 2 --output-tokens 10 || exit 1
W=$LB_TOP/workloads/smoke.json
q() { sqlite3 "$TMP/r.db" "$1"; }

test_expect_code 3 'an interrupted run exits 3' '
	(cd "$LB_TOP" && exec "$LLMBENCH" run "$W" --db "$TMP/r.db" --name res --no-progress --drain 0 \
		--set backends.0.base_url=http://127.0.0.1:$PORT/v1 --set load.levels="[2,4]" \
		--set load.requests=150 --set load.warmup=2 >"$TMP/first.out" 2>&1) &
	pid=$! && sleep 1.2 && kill -INT $pid && wait $pid
'
test_expect_success 'the first attempt stored part of the work' '
	test "$(q "SELECT status FROM runs")" = interrupted &&
	n=$(q "SELECT count(*) FROM requests WHERE status != '\''cancelled'\''") && echo "stored $n" &&
	test "$n" -gt 10 && test "$n" -lt 304
'
test_expect_success 'resume finishes the run with every request exactly once' '
	(cd "$LB_TOP" && "$LLMBENCH" run --resume res --db "$TMP/r.db" --no-progress) >"$TMP/resume.out" 2>&1 &&
	cat "$TMP/resume.out" &&
	test "$(q "SELECT status FROM runs")" = done &&
	test "$(q "SELECT count(*) FROM requests")" = 304 &&
	test "$(q "SELECT count(*) FROM (SELECT DISTINCT level_id, seq FROM requests)")" = 304 &&
	test "$(q "SELECT count(*) FROM levels")" = 2 &&
	test "$(q "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = 304 &&
	test "$(q "SELECT group_concat(value, \",\") FROM summaries WHERE metric = '\''requests_ok'\'' ORDER BY level_id")" = "150.0,150.0" &&
	# the interrupted level'"'"'s cut requests were failures "cancelled": gone with them
	test "$(q "SELECT count(*) FROM summaries WHERE metric LIKE '\''requests_failed_%'\''")" = 0
'
test_expect_code 2 'resuming a done run is a usage error' '
	"$LLMBENCH" run --resume res --db "$TMP/r.db"
'
test_expect_code 2 'resuming an unknown run names it' '
	"$LLMBENCH" run --resume nope --db "$TMP/r.db" 2>&1 | grep -q "no run .nope." && exit 2
'
test_expect_success 'a run whose process still runs is not resumed (nothing written twice)' '
	(cd "$LB_TOP" && exec "$LLMBENCH" run "$W" --db "$TMP/live.db" --name live --no-progress \
		--set backends.0.base_url=http://127.0.0.1:$PORT/v1 --set load.levels="[1]" \
		--set load.requests=3000 >"$TMP/live.out" 2>&1) &
	pid=$! && sleep 1.5 &&
	"$LLMBENCH" run --resume live --db "$TMP/live.db" --no-progress 2>"$TMP/live.err"; rc=$?
	cat "$TMP/live.err"; kill -INT $pid; wait $pid
	test $rc = 2 && grep -q "run .live. is still running (process $pid on this host)" "$TMP/live.err" &&
	test "$(sqlite3 "$TMP/live.db" "SELECT count(*) - count(DISTINCT req_id) FROM requests")" = 0
'
test_done
