#!/usr/bin/env bash
# Run outcome (issue 12, case 1; docs/reliability.md "Run outcome"): a run against a port where
# nothing listens, or a server that answers 401 to everything, stops at the pre-flight request
# with one line naming the URL and the cause, exit 3 and no run stored (the store file it made
# is removed). Without the pre-flight (--no-preflight), a level with no successful request is
# invalid, has no rate figures, the failures are printed by category with the first message, and
# the run is stored 'failed' (exit 3). Failures under load stay measurements: a level with some
# 429s is valid and the run done.
. "$(dirname "$0")/../lib.sh"

W=$LB_TOP/workloads/smoke.json
q() { sqlite3 "$TMP/$1.db" "$2"; }
run() { # NAME URL [options...]: exit code in NAME.rc
	local name=$1 url=$2
	shift 2
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/$name.db" --name "$name" --no-progress \
		--set "backends.0.base_url=$url" --set 'load.levels=[4]' --set load.requests=8 \
		--set load.warmup=0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err")
	echo $? >"$TMP/$name.rc"
	cat "$TMP/$name.out" "$TMP/$name.err"
}
DEAD=$(free_port)
start_sim P401 --ttft-ms 1 --itl-ms 1 --output-tokens 4 --fault http_401 || exit 1
start_sim P429 --ttft-ms 1 --itl-ms 1 --output-tokens 4 --fault http_429:0.3 --seed 5 || exit 1

test_expect_success 'dead port: one line naming the URL and the cause, exit 3, no run stored' '
	run dead http://127.0.0.1:$DEAD/v1 &&
	test "$(cat dead.rc)" = 3 &&
	grep -q "^llmbench: error: pre-flight request to http://127.0.0.1:$DEAD/v1/completions failed: connect: .*Couldn.t connect to server" dead.err &&
	test "$(grep -c "error" dead.err)" = 1 &&
	! ls "$TMP"/dead.db* 2>/dev/null # the store it created for the run is gone again
'
test_expect_success 'a server answering 401 to everything: the same, with the status' '
	run s401 http://127.0.0.1:$P401/v1 &&
	test "$(cat s401.rc)" = 3 &&
	grep -q "^llmbench: error: pre-flight request to http://127.0.0.1:$P401/v1/completions failed: http_401: .*simulated http_401" s401.err &&
	! ls "$TMP"/s401.db* 2>/dev/null
'
test_expect_success 'without the pre-flight: the level is invalid, the run failed, exit 3' '
	run nopf http://127.0.0.1:$DEAD/v1 --no-preflight &&
	test "$(cat nopf.rc)" = 3 &&
	test "$(q nopf "SELECT status || \"|\" || note FROM runs")" = "failed|1 level had no successful request" &&
	test "$(q nopf "SELECT valid || \"|\" || invalid_reason FROM levels")" = "0|no successful request (8 measured, all failed)" &&
	grep -q "NO$" nopf.out &&
	grep -q "error: 1 level had no successful request; run .nopf. stored as failed" nopf.err
'
test_expect_success 'no rate figure for it: unavailable with the reason, never a number' '
	for m in request_throughput achieved_rate output_token_throughput goodput; do
		test "$(q nopf "SELECT coalesce(value, \"NULL\") || \"|\" || note FROM summaries WHERE metric = \"$m\"")" = \
			"NULL|unavailable: no successful request" || { echo "$m"; return 1; }
	done
'
test_expect_success 'failures by category with the first message, per level and for the run' '
	grep -q "sim concurrency=4: 8 of 8 measured requests failed: connect 8 (first: .*Couldn.t connect to server)" nopf.err &&
	grep -q "failures in run .nopf.: connect 8 (first: .*Couldn.t connect" nopf.err
'
test_expect_success '`runs` shows the run failed, not done' '
	"$LLMBENCH" runs --db "$TMP/nopf.db" >runs.out && cat runs.out && grep nopf runs.out | grep -q failed
'
test_expect_success 'a level with some 429s is a measurement: valid, run done, exit 0' '
	run s429 http://127.0.0.1:$P429/v1 --no-preflight --set load.requests=40 &&
	test "$(cat s429.rc)" = 0 &&
	test "$(q s429 "SELECT status FROM runs")" = done &&
	test "$(q s429 "SELECT valid FROM levels")" = 1 &&
	n=$(q s429 "SELECT count(*) FROM requests WHERE status = \"http_429\"") && echo "429s: $n" &&
	test "$n" -ge 1 && test "$n" -lt 40 &&
	grep -q "measured requests failed: http_429 $n (first: .*simulated http_429" s429.err &&
	test -n "$(q s429 "SELECT value FROM summaries WHERE metric = \"request_throughput\"")"
'
test_done
