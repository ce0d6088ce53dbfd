#!/usr/bin/env bash
# Cancellations free the real llama-server's slots (docs/traffic.md): four long streams
# (2000 tokens) start together and a fifth, short one follows 3 s later. Cancelled after 3 tokens
# (load.cancel), the scraped running count (llamacpp:requests_processing, stored in
# server_scrapes + series) is back at 0 from 0.5 s after the last cancel until the fifth
# request, while the same load uncancelled keeps the slots busy through that window. Counts and
# margins, not one machine's timings: the uncancelled streams only need to outlast the window.
. "$(dirname "$0")/../lib.sh"

SERVER=$LLAMA_SERVER
test_expect_success 'llama-server is built' 'test -x "$SERVER"'
test -x "$SERVER" || { test_done; exit; }
test_expect_success 'make a tiny llama model' '
	"$LLMBENCH" model make --arch llama --out "$TMP/tiny.gguf" --seed 7 --ctx 16384 >/dev/null
'
start_llama_server PORT "$TMP/tiny.gguf" -c 16384 -np 4 --metrics >"$TMP/up" 2>&1
up=$?
test_expect_success 'llama-server is up within 60 s' 'cat "$TMP/up"; test '"$up"' = 0'
[ "$up" = 0 ] || { test_done; exit; }

# timestamped prompts (docs/traffic.md): four long ones at 0, a short one at 3 s
for i in 1 2 3 4; do
	printf '{"timestamp": 0, "prompt": "Story number %s: once upon a time", "output_length": 2000}\n' $i
done >"$TMP/t.jsonl"
printf '{"timestamp": 3000, "prompt": "The end", "output_length": 2}\n' >>"$TMP/t.jsonl"
cat >"$TMP/w.json" <<EOF2
{"name": "cancel-ls",
 "backends": [{"name": "ls", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
               "api": "completions", "stream": true, "timeout_ms": 300000}],
 "dataset": {"path": "$TMP/t.jsonl", "format": "trace"},
 "generation": {"max_tokens": 2000, "temperature": 0, "ignore_eos": true},
 "load": {"mode": "trace", "levels": [1], "lag_bound_ms": 1000, "warmup": 0,
          "cancel": {"fraction": 1, "after_tokens": 3}},
 "server_metrics": {"interval_ms": 100}}
EOF2
q() { sqlite3 "$TMP/$1.db" "$2"; }
RUNNING="series LIKE 'server:llamacpp:requests_processing%'"
# the scraped running count in [from, to) ms after the level's first send: "<scrapes> <min> <max>"
window() {
	q "$1" "SELECT count(*), min(value), max(value) FROM series, (SELECT min(t_send_ns) AS t0 FROM requests)
		WHERE $RUNNING AND t_ns >= t0 + $2 * 1000000 AND t_ns < t0 + $3 * 1000000" | tr '|' ' '
}

test_expect_success 'cancelled after 3 tokens: the 4 long streams are cancelled, the short one is ok' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/c.db" --name c --no-progress --no-preflight >out 2>&1 ||
	{ cat out; exit 1; }
	test "$(q c "SELECT count(*) FROM requests WHERE status = '\''cancelled'\''")" = 4 &&
	test "$(q c "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = 1 &&
	test "$(q c "SELECT max(n_chunks) FROM requests WHERE status = '\''cancelled'\''")" -le 4
'
test_expect_success 'same load uncancelled: the 4 long streams run all 2000 tokens' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/u.db" --name u --no-progress --no-preflight \
		--set load.cancel="{\"fraction\": 0, \"after_tokens\": 3}" >out 2>&1 || { cat out; exit 1; }
	test "$(q u "SELECT count(*) FROM requests WHERE status = '\''ok'\'' AND output_tokens = 2000")" = 4
'
test_expect_success 'cancelled: the scraped running count is 0 from 0.5 s after the last cancel to the 5th send' '
	c_end=$(q c "SELECT (max(t_end_ns) - (SELECT min(t_send_ns) FROM requests)) / 1000000 FROM requests
		WHERE status = '\''cancelled'\''") &&
	last=$(q c "SELECT (max(t_send_ns) - min(t_send_ns)) / 1000000 FROM requests") &&
	read -r n lo hi <<<"$(window c $((c_end + 500)) $last)" &&
	echo "last cancel at $c_end ms, 5th send at $last ms: $n scrapes in between, running $lo..$hi" &&
	test "$n" -ge 3 && test "$hi" = 0.0 &&
	test "$(q c "SELECT count(*) FROM server_scrapes WHERE ok = 0")" = 0
'
test_expect_success 'uncancelled: in the same window the slots are still busy (every scrape sees them running)' '
	c_end=$(q c "SELECT (max(t_end_ns) - (SELECT min(t_send_ns) FROM requests)) / 1000000 FROM requests
		WHERE status = '\''cancelled'\''") &&
	u_end=$(q u "SELECT (min(t_end_ns) - (SELECT min(t_send_ns) FROM requests)) / 1000000 FROM requests
		WHERE output_tokens = 2000") &&
	to=$((u_end - 300 < 3000 ? u_end - 300 : 3000)) &&
	read -r n lo hi <<<"$(window u $((c_end + 500)) $to)" &&
	echo "first long stream done at $u_end ms: $n scrapes in [$((c_end + 500)), $to) ms, running $lo..$hi" &&
	test "$n" -ge 1 && awk -v lo="$lo" "BEGIN { exit !(lo >= 1) }"
'
test_expect_success 'the report: the figure drawn, the server side of the comparison unavailable with the reason' '
	"$LLMBENCH" report --db "$TMP/u.db" --out "$TMP/rep" --format md,png >/dev/null 2>&1 &&
	test -s "$TMP/rep/plots/server_time.png" &&
	grep -q "KV-cache usage: not exposed" "$TMP/rep/report.md" &&
	grep -q "^- TTFT p50 server (ms): unavailable: the server exposes no TTFT histogram" "$TMP/rep/report.md" &&
	grep -q "^- ITL p99 server - client (ms): unavailable: the server exposes no inter-token latency histogram" "$TMP/rep/report.md"
'
test_done
