#!/usr/bin/env bash
# Secrets (docs/reliability.md): a run with a known API key (from the environment variable that
# api_key_env names) and with credentials in its base_url, verbose, leaves neither in the store
# (database, -wal, -shm), the exports, the report folder, the sim's log and the run's stdout and
# stderr; the stored configuration shows the URL with its credentials redacted.
. "$(dirname "$0")/../lib.sh"

KEY=sk-llmbench-7f3a9c1e5b2d4086-TESTKEY
PASS=pw-llmbench-c0ffee42
export LB_TEST_API_KEY=$KEY
start_sim PORT --ttft-ms 1 --itl-ms 1 --output-tokens 8 --log "$TMP/sim.log" \
	--fault http_401:0.2 || exit 1
SIM_OUT=$TMP/sim-$PORT.out

# A workload file holding the credentials in its URL, as a user might write it.
sed -e "s|\"base_url\": \"[^\"]*\"|\"base_url\": \"http://bench:$PASS@127.0.0.1:$PORT/v1\", \"api_key_env\": \"LB_TEST_API_KEY\"|" \
	"$LB_TOP/workloads/smoke.json" >"$TMP/w.json"
sed -i -e "s|\"path\": \"datasets/|\"path\": \"$LB_TOP/datasets/|" "$TMP/w.json"

# no_secret FILE...: neither the key nor the password, nor the key's distinctive middle part.
no_secret() {
	local f bad=0
	for f in "$@"; do
		[ -e "$f" ] || continue
		if grep -a -l -e "$KEY" -e "7f3a9c1e5b2d4086" -e "$PASS" "$f"; then bad=1; fi
	done
	return $bad
}

test_expect_success 'the workload names the key variable and the URL carries credentials' '
	grep -q "bench:$PASS@" w.json && grep -q LB_TEST_API_KEY w.json &&
	! no_secret w.json # the grep finds what is there
'
test_expect_success 'a verbose run with the key and the credentials goes through' '
	"$LLMBENCH" -v run w.json --db "$TMP/s.db" --name sec --keep-text \
		--set "backends.0.timeout_ms=60000" >"$TMP/run.out" 2>"$TMP/run.err" &&
	cat "$TMP/run.out" && test "$(sqlite3 "$TMP/s.db" "SELECT count(*) FROM requests")" -ge 40 &&
	test "$(sqlite3 "$TMP/s.db" "SELECT count(*) FROM requests WHERE status = '\''http_401'\''")" -ge 1
'
# --no-preflight: the sim draws its 20% of 401s per request in order, so the pre-flight request
# would shift (or take) the draws; sec2 and sec3 must store their failed requests for the exports
# below (both exit 3: no level of theirs has a successful request).
test_expect_success 'a run given the URL with --set, and one that fails to connect' '
	"$LLMBENCH" -v run w.json --db "$TMP/s.db" --name sec2 --no-preflight \
		--set "backends.0.base_url=http://bench:$PASS@127.0.0.1:$PORT/v1?api_key=$KEY" \
		--set "backends.0.headers={\"X-Api-Key\": \"$KEY\", \"X-Trace\": \"visible\"}" \
		>"$TMP/run2.out" 2>"$TMP/run2.err"; test $? = 3 && # every request 404s (the query string)
	grep -q "no successful request" "$TMP/run2.err" &&
	dead=$(free_port) &&
	"$LLMBENCH" -v run w.json --db "$TMP/s.db" --name sec3 --no-preflight \
		--set "backends.0.base_url=http://bench:$PASS@127.0.0.1:$dead/v1" --set load.requests=4 \
		--set "load.levels=[2]" >"$TMP/run3.out" 2>"$TMP/run3.err";
	test "$(sqlite3 "$TMP/s.db" "SELECT count(*) FROM requests r JOIN runs ON runs.id = r.run_id
		WHERE runs.name = '\''sec3'\'' AND r.status = '\''connect'\''")" -ge 4
'
test_expect_success 'a failed pre-flight request names the URL with its credentials redacted' '
	dead=$(free_port) &&
	"$LLMBENCH" -v run w.json --db "$TMP/pf.db" --name sec4 \
		--set "backends.0.base_url=http://bench:$PASS@127.0.0.1:$dead/v1" >"$TMP/run4.out" 2>"$TMP/run4.err"; test $? = 3 &&
	cat "$TMP/run4.err" &&
	grep -q "pre-flight request to http://\*\*\*@127.0.0.1:$dead/v1/completions failed: connect" "$TMP/run4.err"
'
test_expect_success 'exports and a report of the runs' '
	for fmt in csv json jsonl; do
		for run in sec sec2 sec3; do
			"$LLMBENCH" -v export --db "$TMP/s.db" --run $run --format $fmt --chunks \
				>"$TMP/$run.$fmt" 2>>"$TMP/export.err" ||
			"$LLMBENCH" -v export --db "$TMP/s.db" --run $run --format $fmt \
				>"$TMP/$run.$fmt" 2>>"$TMP/export.err" || return 1
		done
	done &&
	"$LLMBENCH" -v report --db "$TMP/s.db" --run sec --run sec3 --out "$TMP/report" \
		--format html,md,csv,json,jsonl >"$TMP/report.out" 2>"$TMP/report.err" &&
	"$LLMBENCH" -v runs --db "$TMP/s.db" >"$TMP/runs.out" 2>&1 &&
	ls "$TMP/report" | grep -q .
'
test_expect_success 'the key and the password are nowhere: store, WAL, exports, report, logs' '
	no_secret "$TMP"/s.db* "$TMP"/*.out "$TMP"/*.err "$TMP"/sec*.csv "$TMP"/sec*.json \
		"$TMP"/sec*.jsonl "$TMP"/sim.log "$SIM_OUT" &&
	no_secret $(find "$TMP/report" -type f) &&
	test "$(sqlite3 "$TMP/s.db" "SELECT count(*) FROM runs")" = 3 &&
	sqlite3 "$TMP/s.db" .dump >"$TMP/dump.sql" && no_secret "$TMP/dump.sql"
'
test_expect_success 'the stored configuration shows the URL redacted' '
	sqlite3 "$TMP/s.db" "SELECT workload_json FROM runs UNION ALL SELECT config_json FROM backends" \
		>"$TMP/conf.txt" && cat "$TMP/conf.txt" | cut -c1-400 &&
	grep -q "bench:$PASS" w.json && ! grep -q "$PASS" "$TMP/conf.txt" &&
	grep -q "127.0.0.1:$PORT" "$TMP/conf.txt" && grep -q "\*\*\*" "$TMP/conf.txt" &&
	grep -q LB_TEST_API_KEY "$TMP/conf.txt" && grep -q "\"X-Api-Key\":\"\*\*\*\"" "$TMP/conf.txt" &&
	grep -q "\"X-Trace\":\"visible\"" "$TMP/conf.txt"
'
test_done
