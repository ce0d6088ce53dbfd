#!/usr/bin/env bash
# Long runs hold memory flat: 100,000 short requests (TTFT 0, ITL 0, 2 tokens, concurrency 64)
# against the sim peak at about the same harness RSS (summary harness_peak_rss_mib, getrusage)
# as 10,000 do. What grows is bounded: the per-level sample arrays for exact percentiles
# (docs/METRICS.md: linear interpolation on sorted samples), about 60-70 bytes per request, and
# SQLite's page cache; everything else is recycled. The bound checked: < 128 bytes per extra
# request, and the 100k run's RSS under 1.6 times the 10k run's.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 0 --itl-ms 0 --output-tokens 2 || exit 1
W=$LB_TOP/workloads/smoke.json
run() { # name requests
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/$1.db" --name "$1" --no-progress \
		--set backends.0.base_url=http://127.0.0.1:$PORT/v1 --set generation.max_tokens=2 \
		--set dataset.limit=null --set load="{\"mode\": \"concurrency\", \"levels\": [64],
		\"requests\": $2, \"warmup\": 0}")
}
rss() { sqlite3 "$TMP/$1.db" "SELECT value FROM summaries WHERE metric = 'harness_peak_rss_mib'"; }

test_expect_success '10,000 requests' 'run r10k 10000 >/dev/null'
test_expect_success '100,000 requests, all ok' '
	run r100k 100000 >/dev/null &&
	test "$(sqlite3 "$TMP/r100k.db" "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = 100000
'
test_expect_success 'peak RSS does not grow with the request count beyond the bound' '
	a=$(rss r10k) && b=$(rss r100k) &&
	echo "peak RSS: 10k requests $a MiB, 100k requests $b MiB" &&
	awk -v a="$a" -v b="$b" "BEGIN {
		per = (b - a) * 1048576 / 90000
		printf \"growth %.1f MiB, %.0f bytes per extra request\n\", b - a, per
		exit !(a > 0 && b > 0 && per < 128 && b < 1.6 * a)
	}"
'
test_done
