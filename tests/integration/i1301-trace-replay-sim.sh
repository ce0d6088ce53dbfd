#!/usr/bin/env bash
# Load mode trace against the simulator (known truth): requests leave at the trace's timestamps
# divided by the speedup (schedule lag measured as in the open loop); a trace whose hash ids
# repeat gets the sim's prefix-cache TTFT (100 - 2 blocks * 30 ms = 40 ms) and a trace without
# reuse the full 100 ms, in the client's TTFT and in the server's own scraped metrics (hit rate,
# TTFT histogram), stored per level; an unreachable metrics endpoint is unavailable with the
# reason and the run goes on.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 100 --itl-ms 2 --output-tokens 1000 --prefix-cache-ms-per-block 30 \
	--prefix-block-tokens 512 || exit 1
"$LLMBENCH" trace gen --requests 30 --rate 20 --arrival constant --input-tokens 1024 \
	--output-tokens 4 --reuse 1 -o "$TMP/reuse.jsonl" || exit 1
"$LLMBENCH" trace gen --requests 30 --rate 20 --arrival constant --input-tokens 1024 \
	--output-tokens 4 --reuse 0 -o "$TMP/none.jsonl" || exit 1
cat >"$TMP/w.json" <<EOF2
{"name": "trace",
 "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
               "model": "m", "api": "completions"}],
 "dataset": {"path": "$TMP/reuse.jsonl", "format": "trace"},
 "generation": {"max_tokens": 64},
 "load": {"mode": "trace", "levels": [2], "lag_bound_ms": 20},
 "server_metrics": {"interval_ms": 100}}
EOF2
run() { # name sets...
	local name=$1
	shift
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/$name.db" --name "$name" --no-progress --no-preflight "$@"
}
q() { sqlite3 "$TMP/$1.db" "$2"; }
sum() { q "$1" "SELECT value FROM summaries WHERE metric = '$2' AND level_id > 0"; }

test_expect_success 'replay with reuse: 30 requests, each with its trace output length' '
	run reuse >out 2>&1; cat out; test "$(q reuse "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = 30 &&
	test "$(q reuse "SELECT group_concat(DISTINCT output_tokens) FROM requests")" = 4 &&
	test "$(q reuse "SELECT mode || value FROM levels")" = trace2.0
'
test_expect_success 'sends follow timestamps / speedup: 50 ms apart at 20 req/s and speedup 2 = 25 ms' '
	q reuse "SELECT (max(t_scheduled_ns) - min(t_scheduled_ns)) / 1e6 FROM requests" >span && cat span &&
	awk "{ exit !(\$1 > 29 * 25 - 1 && \$1 < 29 * 25 + 1) }" span &&
	lag=$(sum reuse lag_p99_ms) && echo "p99 lag $lag ms" && awk -v l=$lag "BEGIN { exit !(l < 20) }"
'
test_expect_success 'the client sees the cache: TTFT p50 about 40 ms (100 - 2 * 30)' '
	t=$(sum reuse ttft_p50_ms) && echo $t && awk -v t=$t "BEGIN { exit !(t >= 40 && t < 70) }"
'
test_expect_success 'the server says so too: hit rate 29/30 of prompt tokens, its TTFT p50 in (20, 60] ms' '
	h=$(sum reuse server_prefix_cache_hit_rate) && s=$(sum reuse server_ttft_p50_ms) && echo "$h $s" &&
	awk -v h=$h -v s=$s "BEGIN { exit !(h > 0.9666 && h < 0.9667 && s > 20 && s <= 60) }" &&
	test "$(q reuse "SELECT provenance FROM summaries WHERE metric = '\''server_running_max'\''")" = vllm
'
test_expect_success 'scrapes are stored: ok rows and series samples' '
	n=$(q reuse "SELECT count(*) FROM server_scrapes WHERE ok = 1") && echo "$n scrapes" && test "$n" -ge 3 &&
	test "$(q reuse "SELECT count(*) FROM server_scrapes WHERE ok = 0")" = 0 &&
	q reuse "SELECT count(*) FROM series WHERE series LIKE '\''server:vllm:num_requests_running%'\''" | awk "{ exit !(\$1 >= 3) }"
'
start_sim PORT2 --ttft-ms 100 --itl-ms 2 --output-tokens 1000 --prefix-cache-ms-per-block 30 \
	--prefix-block-tokens 512 || exit 1
test_expect_success 'without reuse (a fresh sim): client TTFT p50 about 100 ms, server hit rate 0' '
	run none --set dataset.path="$TMP/none.jsonl" \
		--set backends.0.base_url=http://127.0.0.1:$PORT2/v1 >/dev/null 2>&1 &&
	t=$(sum none ttft_p50_ms) && h=$(sum none server_prefix_cache_hit_rate) && echo "$t $h" &&
	awk -v t=$t -v h=$h "BEGIN { exit !(t >= 100 && t < 130 && h == 0) }"
'
test_expect_success 'an unreachable metrics endpoint: the run goes on, figures unavailable with the reason' '
	p=$(free_port) &&
	run unreach --set server_metrics="{\"url\": \"http://127.0.0.1:$p/metrics\", \"interval_ms\": 100}" >/dev/null 2>&1 &&
	test "$(q unreach "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = 30 &&
	q unreach "SELECT note FROM summaries WHERE metric = '\''server_kv_cache_usage_max'\''" >note && cat note &&
	grep -q "^unavailable: no successful scrape" note &&
	test "$(q unreach "SELECT count(*) FROM summaries WHERE metric = '\''server_kv_cache_usage_max'\'' AND value IS NULL")" = 1 &&
	test "$(q unreach "SELECT count(*) FROM server_scrapes WHERE ok = 0 AND reason <> '\'''\''")" -ge 2
'
test_expect_code 2 'mode trace needs a dataset with timestamps' '
	run bad --set dataset="{\"path\": \"$LB_TOP/datasets/prompts/llm-questions.txt\", \"format\": \"lines\"}"
'
test_done
