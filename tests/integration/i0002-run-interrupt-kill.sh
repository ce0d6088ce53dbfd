#!/usr/bin/env bash
# Crash safety: `kill -9` mid-level leaves a database that opens, passes integrity_check and
# holds every request finished before the last commit interval; SIGINT marks the run
# `interrupted`, cancels what is in flight within the drain bound, and keeps what finished.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 20 --itl-ms 5 --output-tokens 20 --log "$TMP/sim.log" || exit 1
W=$LB_TOP/workloads/smoke.json
bg_run() { # db name
	(cd "$LB_TOP" && exec "$LLMBENCH" run "$W" --db "$1" --name "$2" --no-progress --drain 0.5 \
		--set backends.0.base_url=http://127.0.0.1:$PORT/v1 --set load.levels='[4]' \
		--set load.requests=100000 --set load.warmup=0 >"$TMP/$2.out" 2>&1) &
	echo $! >"$TMP/$2.pid"
}
mono_ns() { python3 -c 'import time; print(time.monotonic_ns())'; }

test_expect_success 'kill -9 mid-level leaves a consistent database with finished requests' '
	bg_run "$TMP/k.db" killed && sleep 2 &&
	t_kill=$(mono_ns) && kill -9 "$(cat "$TMP/killed.pid")" && sleep 0.5 &&
	test "$(sqlite3 "$TMP/k.db" "PRAGMA integrity_check")" = ok &&
	stored=$(sqlite3 "$TMP/k.db" "SELECT count(*) FROM requests") &&
	test "$(sqlite3 "$TMP/k.db" "SELECT status FROM runs WHERE name = '\''killed'\''")" = running &&
	before=$(awk -v t="$t_kill" "\$3 == \"done\" && \$1 < t - 500000000 { n++ } END { print n + 0 }" "$TMP/sim.log") &&
	echo "stored $stored, finished more than 0.5 s before the kill: $before" &&
	test "$stored" -ge "$before" && test "$stored" -gt 50
'

test_expect_code 3 'SIGINT stops the run, exit 3' '
	bg_run "$TMP/i.db" interrupted && sleep 1.5 &&
	pid=$(cat "$TMP/interrupted.pid") && kill -INT "$pid" &&
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done &&
	! kill -0 "$pid" 2>/dev/null && wait "$pid"
'
test_expect_success 'an interrupted run is marked interrupted and keeps its requests' '
	test "$(sqlite3 "$TMP/i.db" "SELECT status FROM runs")" = interrupted &&
	test "$(sqlite3 "$TMP/i.db" "PRAGMA integrity_check")" = ok &&
	test "$(sqlite3 "$TMP/i.db" "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" -gt 10 &&
	test "$(sqlite3 "$TMP/i.db" "SELECT count(*) FROM summaries WHERE metric = '\''ttft_p50_ms'\''")" = 1 &&
	"$LLMBENCH" runs --db "$TMP/i.db" | grep -q interrupted
'
test_done
