#!/usr/bin/env bash
# Measurement windows (issue 12, case 4; docs/METRICS.md "Measurement windows"): a resumed level
# is measured as two windows, before the interruption and after the resume, without the time
# between them. A closed loop at concurrency 2 against a server answering in 100 ms (true
# throughput 20 req/s) is interrupted, left alone for 3 s, resumed: its throughput stays near
# 20 req/s and its duration near the 2 s of work (before: the 3 s pause was counted).
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 100 --itl-ms 0 --output-tokens 1 || exit 1
W=$LB_TOP/workloads/smoke.json
q() { sqlite3 "$TMP/r.db" "$1"; }
fig() { q "SELECT value FROM summaries WHERE metric = '$1'"; }

test_expect_code 3 'an interrupted run exits 3' '
	(cd "$LB_TOP" && exec "$LLMBENCH" run "$W" --db "$TMP/r.db" --name res --no-progress --drain 0 \
		--set backends.0.base_url=http://127.0.0.1:$PORT/v1 --set "load.levels=[2]" \
		--set load.requests=40 --set load.warmup=0 >"$TMP/first.out" 2>&1) &
	pid=$! && sleep 1.5 && kill -INT $pid && wait $pid
'
test_expect_success 'part of the level was stored; 3 s pass before the resume' '
	n=$(q "SELECT count(*) FROM requests WHERE status = '\''ok'\''") && echo "stored $n" &&
	test "$n" -ge 2 && test "$n" -lt 40 && sleep 3
'
test_expect_success 'the resume completes the level, flagged resumed' '
	(cd "$LB_TOP" && "$LLMBENCH" run --resume res --db "$TMP/r.db" --no-progress) >"$TMP/resume.out" 2>&1 &&
	cat "$TMP/resume.out" &&
	test "$(q "SELECT status FROM runs")" = done &&
	test "$(fig requests_ok)" = 40.0 &&
	q "SELECT note FROM summaries WHERE metric = '\''resumed'\''" | grep -q "without the time between them"
'
test_expect_success 'the downtime is not measured: duration about 2 s, about 20 req/s' '
	d=$(fig duration_s) && r=$(fig request_throughput) &&
	gap=$(q "SELECT (max(t_end_ns) - min(t_send_ns)) / 1e9 FROM requests") &&
	echo "duration $d s, throughput $r req/s; first send to last end $gap s" &&
	awk -v d="$d" -v r="$r" "BEGIN { exit !(d < 3.2 && r > 12.5 && r <= 20.5) }" &&
	awk -v d="$d" -v g="$gap" "BEGIN { exit !(g - d > 2.5) }"
'
test_done
