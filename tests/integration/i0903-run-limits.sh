#!/usr/bin/env bash
# Limits (docs/reliability.md):
# - file descriptors and memory stay flat over a long run with 1% faults (refused connections
#   and HTTP 500s): the resident size and the open descriptors of `llmbench run`, sampled every
#   0.2 s, peak in the last quarter of the run within a small margin of the second quarter;
# - every buffer fed from outside is bounded, and going past the bound is an error naming it:
#   the workload file (4 MiB), a dataset line (1 MiB); the response body and SSE line
#   (max_body_bytes) are in i0901-run-faults.sh.
. "$(dirname "$0")/../lib.sh"

REQ=${LB_FLAT_REQUESTS:-40000}
RSS_MARGIN_KB=${LB_RSS_MARGIN_KB:-2048}
FD_MARGIN=8

start_sim PORT --ttft-ms 0 --itl-ms 0 --output-tokens 4 --fault refuse:0.005 --fault http_500:0.005 ||
	exit 1

# Four levels of REQ/4 requests: within a level memory grows by the latency samples kept for exact
# percentiles (~50 bytes a request), freed when the level ends; so the peak of the last level
# must be within a margin of the peak of the second (the first warms the caches up).
test_expect_success "$REQ requests at concurrency 64 with 1% faults: memory and fds stay flat" '
	(cd "$LB_TOP" && exec "$LLMBENCH" run workloads/smoke.json --db "$TMP/flat.db" --name flat \
		--no-progress --set "backends.0.base_url=http://127.0.0.1:$PORT/v1" \
		--set "load.levels=[64,64,64,64]" --set load.requests=$((REQ / 4)) --set load.warmup=0 \
		--set generation.max_tokens=4 >"$TMP/flat.out" 2>&1) &
	pid=$! &&
	for i in $(seq 3000); do
		rss=$(awk "/^VmRSS/ { print \$2 }" /proc/$pid/status 2>/dev/null) || break
		[ -n "$rss" ] || break
		fds=$(ls /proc/$pid/fd 2>/dev/null | wc -l)
		n=$(sqlite3 "$TMP/flat.db" "SELECT count(*) FROM requests" 2>/dev/null || echo 0)
		echo "$n $rss $fds"
		sleep 0.2
	done >"$TMP/samples" &&
	wait $pid && cat "$TMP/flat.out" &&
	test "$(sqlite3 "$TMP/flat.db" "SELECT count(*) FROM requests")" = $((REQ / 4 * 4)) &&
	failed=$(sqlite3 "$TMP/flat.db" "SELECT count(*) FROM requests WHERE status != '\''ok'\''") &&
	echo "$failed failed: $(sqlite3 "$TMP/flat.db" "SELECT group_concat(status || '\'' '\'' || n, '\'', '\'')
		FROM (SELECT status, count(*) n FROM requests WHERE status != '\''ok'\'' GROUP BY status)")" &&
	test "$failed" -ge $((REQ / 200)) && test "$failed" -le $((REQ / 50)) &&
	# ASan keeps freed memory in quarantine: under a sanitizer build only the fds are compared
	if grep -q "sanitizer enabled" "$TMP/flat.out"; then mr=100000000; else mr=$RSS_MARGIN_KB; fi &&
	awk -v l=$((REQ / 4)) -v mr=$mr -v mf=$FD_MARGIN "
		{ q = int(\$1 / l); if (q > 3) q = 3; k[q]++
		  if (\$2 > r[q]) r[q] = \$2; if (\$3 > f[q]) f[q] = \$3 }
		END {
			for (q = 0; q < 4; q++)
				printf \"quarter %d: %d samples, peak rss %d kB, peak fds %d\\n\", q + 1, k[q], r[q], f[q]
			exit !(k[1] && k[3] && r[3] - r[1] <= mr && f[3] - f[1] <= mf && f[1] - f[3] <= mf)
		}" "$TMP/samples"
'

test_expect_code 2 'a workload file over 4 MiB is refused, naming the limit' '
	python3 -c "import json, sys
w = json.load(open(sys.argv[1])); w[\"note\"] = \"x\" * (4 << 20)
json.dump(w, open(\"big.json\", \"w\"))" "$LB_TOP/workloads/smoke.json" &&
	"$LLMBENCH" run big.json --db "$TMP/big.db" 2>err; rc=$?
	cat err; grep -q "larger than the limit of 4194304 bytes" err && exit $rc
'
test_expect_code 2 'a dataset line over 1 MiB is refused, naming the file, line and limit' '
	{ echo "a short prompt"; head -c $(((1 << 20) + 1)) /dev/zero | tr "\\0" y; echo; } >long.txt &&
	(cd "$LB_TOP" && "$LLMBENCH" run workloads/smoke.json --db "$TMP/long.db" \
		--set "dataset.path=$TMP/long.txt" --set "backends.0.base_url=http://127.0.0.1:$PORT/v1") \
		2>err; rc=$?
	cat err; grep -q "long.txt.:2: line longer than the limit of 1048576 bytes" err && exit $rc
'
test_done
