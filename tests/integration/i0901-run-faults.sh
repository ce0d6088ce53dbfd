#!/usr/bin/env bash
# Faults from the endpoint (docs/reliability.md): each fault the simulator injects, at a rate of
# 30% of 20 requests, ends as a failure of the right category (or, for the faults a client can
# live with, as an ok request with what the fault changes), the run goes on and exits 0, the
# other requests are ok, and the latency figures leave the failed requests out.
. "$(dirname "$0")/../lib.sh"

N=20
q() { sqlite3 "$TMP/$1.db" "$2"; }
# Ids the sim injected a fault into (from its send log; the log is complete once it stopped).
faulted() { awk '$3 == "fault" { print $2 }' "$TMP/$1.log" | sort -u; }

# run_fault NAME KIND:RATE [run options...]: a sim with the fault, a run of N requests at
# concurrency 4 against it; the run's exit code lands in NAME.rc, the sim is stopped after.
# --no-preflight: the pre-flight request would draw a fault too (and stop the run), and every
# request the sim logs must be one the store has.
run_fault() {
	local name=$1 fault=$2 port pid rc
	shift 2
	port=$(free_port)
	"$LLMBENCH" sim --listen "127.0.0.1:$port" --ttft-ms 1 --itl-ms 1 --output-tokens 8 \
		--log "$TMP/$name.log" --fault "$fault" >"$TMP/$name.sim" 2>&1 &
	pid=$!
	cleanup_add "kill $pid"
	wait_port "$port" 10 || { cat "$TMP/$name.sim"; return 1; }
	(cd "$LB_TOP" && "$LLMBENCH" run workloads/smoke.json --db "$TMP/$name.db" --name "$name" \
		--no-progress --no-preflight --keep-text --set "backends.0.base_url=http://127.0.0.1:$port/v1" \
		--set 'load.levels=[4]' --set load.requests=$N --set load.warmup=0 "$@" \
		>"$TMP/$name.out" 2>&1)
	rc=$?
	kill "$pid" && wait "$pid"
	echo "$rc" >"$TMP/$name.rc"
	test "$rc" = 0 || { echo "run exit $rc"; cat "$TMP/$name.out"; return 1; }
}

# check_failed NAME CATEGORY: the faulted requests, and only they, failed with CATEGORY; the
# counts, summaries and export agree; no latency figure of a failed request, none in the stats.
check_failed() {
	local n=$1 cat=$2 nf ok
	nf=$(faulted "$n" | wc -l)
	ok=$((N - nf))
	echo "$n: $nf of $N faulted"
	test "$nf" -ge 1 && test "$ok" -ge 1 &&
	test "$(q "$n" "SELECT count(*) FROM requests")" = $N &&
	test "$(q "$n" "SELECT req_id FROM requests WHERE status != 'ok' ORDER BY req_id")" = \
		"$(faulted "$n")" &&
	test "$(q "$n" "SELECT count(*) FROM requests WHERE status = '$cat'")" = "$nf" &&
	test "$(q "$n" "SELECT count(*) FROM requests WHERE status = 'ok'")" = "$ok" &&
	check_sums "$n" "$cat" "$nf"
}

# check_sums NAME CATEGORY NF: summaries and export count NF failures of CATEGORY, and every
# latency figure comes from the ok requests only.
check_sums() {
	local n=$1 cat=$2 nf=$3 ok=$(($N - $3))
	test "$(q "$n" "SELECT value FROM summaries WHERE metric = 'requests_failed_$cat'")" = "$nf.0" &&
	test "$(q "$n" "SELECT value FROM summaries WHERE metric = 'requests_failed'")" = "$nf.0" &&
	test "$(q "$n" "SELECT value FROM summaries WHERE metric = 'requests_ok'")" = "$ok.0" &&
	for m in ttft_p50_ms e2e_p50_ms ttft_max_ms e2e_max_ms; do
		case $n:$m in
		ns_*:ttft*) # not streamed: no TTFT at all, unavailable (NULL), never 0
			test "$(q "$n" "SELECT coalesce(value, 'null') FROM summaries
				WHERE metric = '$m'")" = null || return 1 ;;
		*) test "$(q "$n" "SELECT n FROM summaries WHERE metric = '$m'")" = "$ok.0" || return 1 ;;
		esac
	done &&
	test "$(q "$n" "SELECT count(*) FROM requests WHERE status != 'ok' AND (ttft_ms IS NOT NULL
		OR tpot_ms IS NOT NULL OR e2e_ms IS NOT NULL)")" = 0 &&
	max_ok=$(q "$n" "SELECT max(e2e_ms) FROM requests WHERE status = 'ok'") &&
	awk -v a="$(q "$n" "SELECT value FROM summaries WHERE metric = 'e2e_max_ms'")" -v b="$max_ok" \
		'BEGIN { exit !(a - b < 1e-6 && b - a < 1e-6) }' &&
	"$LLMBENCH" export --db "$TMP/$n.db" --run "$n" --format jsonl >"$TMP/$n.jsonl" &&
	test "$(grep -c "\"status\":\"$cat\"" "$TMP/$n.jsonl")" = "$nf" &&
	"$LLMBENCH" export --db "$TMP/$n.db" --run "$n" --format csv >"$TMP/$n.csv" &&
	test "$(python3 -c 'import csv, sys
print(sum(r["status"] == sys.argv[2] for r in csv.DictReader(open(sys.argv[1]))))' \
		"$TMP/$n.csv" "$cat")" = "$nf"
}

# error_has NAME TEXT: every failed request's error message holds TEXT.
error_has() {
	test "$(q "$1" "SELECT count(*) FROM requests WHERE status != 'ok' AND instr(error, '$2') = 0")" = 0
}

# The HTTP client (libcurl, or the native one) sends a request again, once, when a reused
# keep-alive connection closes before any response byte; the sim decides faults per request
# id, so the resend is refused again, and the request is stored and counted once.
test_expect_success 'refuse (the sim closes the connection unanswered) -> connect' '
	run_fault refuse refuse:0.3 && check_failed refuse connect && error_has refuse "cannot reach" &&
	echo "resent by the client: $(awk "\$3 == \"recv\" { n[\$2]++ } END { for (i in n) if (n[i] > 1) k++; print k + 0 }" "$TMP/refuse.log")"
'

for f in close_mid bad_json no_done error_mid empty; do
	test_expect_success "$f (streamed) -> stream" "
		run_fault $f $f:0.3 && check_failed $f stream
	"
done
test_expect_success 'stream error messages say what went wrong' '
	error_has close_mid "stream cut off" && error_has no_done "no [DONE]" &&
	error_has bad_json "malformed JSON" && error_has error_mid "error object in the stream" &&
	error_has empty "ended at [DONE] with no chunk and no finish_reason"
'
for f in bad_json error_mid empty; do
	test_expect_success "$f (not streamed) -> stream" "
		run_fault ns_$f $f:0.3 --set backends.0.stream=false && check_failed ns_$f stream
	"
done
# Not streamed, close_mid closes before the first response byte: on the wire the same as
# refuse, and counted the same way.
test_expect_success 'close_mid (not streamed: closed before any response byte) -> connect' '
	run_fault ns_close_mid close_mid:0.3 --set backends.0.stream=false &&
	check_failed ns_close_mid connect && error_has ns_close_mid "Empty reply from server"
'

test_expect_success 'long_line (a 10 MB SSE line) over max_body_bytes -> stream, naming the bound' '
	run_fault long_line long_line:0.3 --set backends.0.max_body_bytes=1048576 &&
	check_failed long_line stream && error_has long_line "1048576 bytes (max_body_bytes)"
'
test_expect_success 'long_line (a 10 MB body, not streamed) over max_body_bytes -> stream' '
	run_fault ns_long_line long_line:0.3 --set backends.0.max_body_bytes=1048576 \
		--set backends.0.stream=false &&
	check_failed ns_long_line stream &&
	error_has ns_long_line "response body longer than the bound of 1048576 bytes (max_body_bytes)"
'

for f in stall_first stall_mid; do
	test_expect_success "$f past timeout_ms -> timeout" "
		run_fault $f $f:0.3 --set backends.0.timeout_ms=1500 && check_failed $f timeout &&
		error_has $f 'timed out' &&
		test \"\$(q $f \"SELECT count(*) FROM requests WHERE status = 'timeout'
			AND (t_end_ns - t_send_ns) / 1e6 NOT BETWEEN 1400 AND 6000\")\" = 0
	"
done

for f in 400 401 404 429 500 503; do
	test_expect_success "http_$f (JSON error body) -> http_$f" "
		run_fault http_$f http_$f:0.3 && check_failed http_$f http_$f &&
		test \"\$(q http_$f \"SELECT DISTINCT http_status FROM requests WHERE status != 'ok'\")\" = $f &&
		error_has http_$f 'simulated http_$f'
	"
done
test_expect_success 'http_429_retry (Retry-After: 1) -> http_429, not retried' '
	run_fault http_429_retry http_429_retry:0.3 && check_failed http_429_retry http_429 &&
	test "$(awk "\$3 == \"recv\"" "$TMP/http_429_retry.log" | wc -l)" = $N
'
test_expect_success 'http_500_text (a non-JSON body) -> http_500 quoting the body' '
	run_fault http_500_text http_500_text:0.3 && check_failed http_500_text http_500 &&
	error_has http_500_text "Internal Server Error"
'

# Faults a client can live with: every request ok, what the fault changes is visible.
test_expect_success 'no_data (a line without "data:") is ignored as SSE says: all ok' '
	run_fault no_data no_data:0.3 && nf=$(faulted no_data | wc -l) && test "$nf" -ge 1 &&
	test "$(q no_data "SELECT count(*) FROM requests WHERE status = '\''ok'\''
		AND output_tokens = 8 AND n_chunks = 8")" = $N
'
test_expect_success 'trunc_utf8: ok, the cut character stored as U+FFFD' '
	run_fault trunc_utf8 trunc_utf8:0.3 && nf=$(faulted trunc_utf8 | wc -l) && test "$nf" -ge 1 &&
	test "$(q trunc_utf8 "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = $N &&
	test "$(q trunc_utf8 "SELECT count(*) FROM requests
		WHERE instr(hex(output_text), '\''EFBFBDEFBFBD'\'') > 0")" = "$nf" &&
	test "$(q trunc_utf8 "SELECT count(*) FROM requests
		WHERE instr(hex(output_text), '\''E282'\'') > 0")" = 0 &&
	for id in $(faulted trunc_utf8); do
		test "$(q trunc_utf8 "SELECT instr(hex(output_text), '\''EFBFBD'\'') > 0 FROM requests
			WHERE req_id = $id")" = 1 || return 1
	done
'
# The HTTP client is the native one by default (http_client auto); the faults that reach the
# transport itself once more through libcurl, with the same categories and words.
test_expect_success 'libcurl as the HTTP client: refuse -> connect, close_mid -> stream, stall -> timeout' '
	run_fault c_refuse refuse:0.3 --set backends.0.http_client=libcurl &&
	check_failed c_refuse connect && error_has c_refuse "cannot reach" &&
	run_fault c_close_mid close_mid:0.3 --set backends.0.http_client=libcurl &&
	check_failed c_close_mid stream && error_has c_close_mid "stream cut off" &&
	run_fault ns_c_close_mid close_mid:0.3 --set backends.0.http_client=libcurl \
		--set backends.0.stream=false &&
	check_failed ns_c_close_mid connect && error_has ns_c_close_mid "Empty reply from server" &&
	run_fault c_stall stall_mid:0.3 --set backends.0.http_client=libcurl \
		--set backends.0.timeout_ms=1500 && check_failed c_stall timeout
'
test_expect_success 'no_usage: ok, output tokens not from usage (unknown, never 0)' '
	run_fault no_usage no_usage:0.3 && nf=$(faulted no_usage | wc -l) && test "$nf" -ge 1 &&
	test "$(q no_usage "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = $N &&
	test "$(q no_usage "SELECT count(*) FROM requests WHERE output_tokens_source != '\''usage'\''
		AND output_tokens IS NULL")" = "$nf" &&
	for id in $(faulted no_usage); do
		test "$(q no_usage "SELECT output_tokens_source FROM requests WHERE req_id = $id")" != usage ||
			return 1
	done
'
test_expect_success 'wrong_usage: ok, the server usage is stored; n_chunks shows the lie' '
	run_fault wrong_usage wrong_usage:0.3 && nf=$(faulted wrong_usage | wc -l) && test "$nf" -ge 1 &&
	test "$(q wrong_usage "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = $N &&
	test "$(q wrong_usage "SELECT count(*) FROM requests WHERE output_tokens_source = '\''usage'\''
		AND output_tokens = n_chunks + 5")" = "$nf" &&
	test "$(q wrong_usage "SELECT count(*) FROM requests WHERE output_tokens = n_chunks")" = $((N - nf))
'
test_done
