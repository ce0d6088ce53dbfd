#!/usr/bin/env bash
# Client cancellations (load.cancel) against the simulator: the chosen fraction of requests is
# abandoned after N tokens or after a time; they are stored "cancelled" and counted as neither
# ok nor failed; the sim sees each one go (its /metrics abort count equals the stored count, and
# its send log stops), and the freed slots serve the rest (nothing running or waiting at the end).
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 10 --itl-ms 20 --output-tokens 20 --capacity 2 --log "$TMP/sim.log" || exit 1
cat >"$TMP/w.json" <<EOF2
{"name": "cancel",
 "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
               "model": "m", "api": "completions", "stream": true}],
 "dataset": {"path": "$LB_TOP/datasets/prompts/llm-questions.txt", "format": "lines"},
 "generation": {"max_tokens": 20},
 "load": {"mode": "concurrency", "levels": [4], "requests": 40, "seed": 3,
          "cancel": {"fraction": 0.5, "after_tokens": 3}}}
EOF2
q() { sqlite3 "$TMP/$1.db" "$2"; }
sum() { q "$1" "SELECT value FROM summaries WHERE metric = '$2' AND level_id > 0"; }
metric() { curl -sS "http://127.0.0.1:$PORT/metrics" | grep -F "$1{" | grep -F "${2:-}" | awk '{ print $2 }'; }

test_expect_success 'half abandoned after 3 tokens: stored cancelled, neither ok nor failed' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/tok.db" --name tok --no-progress --no-preflight >out 2>&1; cat out &&
	c=$(q tok "SELECT count(*) FROM requests WHERE status = '\''cancelled'\''") &&
	o=$(q tok "SELECT count(*) FROM requests WHERE status = '\''ok'\''") && echo "cancelled $c ok $o" &&
	test $((c + o)) = 40 && test "$c" -ge 10 && test "$c" -le 30 &&
	test "$(sum tok requests_cancelled)" = "$c.0" && test "$(sum tok requests_ok)" = "$o.0" &&
	test "$(sum tok requests_failed)" = 0.0
'
test_expect_success 'a cancelled request stopped at its 3rd token; the ok ones got all 20' '
	test "$(q tok "SELECT group_concat(DISTINCT n_chunks) FROM requests WHERE status = '\''cancelled'\''")" = 3 &&
	test "$(q tok "SELECT group_concat(DISTINCT output_tokens) FROM requests WHERE status = '\''ok'\''")" = 20
'
test_expect_success 'the sim saw every one go: its abort count, its log, no slot held at the end' '
	c=$(q tok "SELECT count(*) FROM requests WHERE status = '\''cancelled'\''") &&
	test "$(metric vllm:request_success_total abort)" = "$c" &&
	test "$(grep -c " gone " "$TMP/sim.log")" = "$c" &&
	test "$(metric vllm:num_requests_running)" = 0 && test "$(metric vllm:num_requests_waiting)" = 0
'
test_expect_success 'abandoned after 100 ms: each ends 100-150 ms after its send, before its 20 tokens' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/ms.db" --name ms --no-progress --no-preflight \
		--set load.cancel="{\"fraction\": 0.5, \"after_ms\": 100}" --set load.requests=24 >/dev/null 2>&1 &&
	c=$(q ms "SELECT count(*) FROM requests WHERE status = '\''cancelled'\''") && echo "$c cancelled" &&
	test "$c" -ge 4 && test "$c" -le 20 &&
	q ms "SELECT min((t_end_ns - t_send_ns) / 1e6), max((t_end_ns - t_send_ns) / 1e6) FROM requests WHERE status = '\''cancelled'\''" &&
	test "$(q ms "SELECT count(*) FROM requests WHERE status = '\''cancelled'\'' AND (t_end_ns - t_send_ns) / 1e6 BETWEEN 100 AND 150")" = "$c"
'
# tokens that come together (ITL 0): the 3rd and the rest, even the end, arrive in one read
start_sim PORT0 --ttft-ms 10 --itl-ms 0 --output-tokens 20 || exit 1
test_expect_success 'tokens that arrive together: abandoned at the 3rd all the same, 3 chunks kept' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/burst.db" --name burst --no-progress --no-preflight \
		--set backends.0.base_url=http://127.0.0.1:$PORT0/v1 >out 2>&1 || { cat out; false; } &&
	c=$(q burst "SELECT count(*) FROM requests WHERE status = '\''cancelled'\''") && echo "$c cancelled" &&
	test "$c" -ge 10 && test "$c" -le 30 &&
	test "$(q burst "SELECT group_concat(DISTINCT n_chunks) FROM requests WHERE status = '\''cancelled'\''")" = 3 &&
	test "$(q burst "SELECT group_concat(DISTINCT output_tokens) FROM requests WHERE status = '\''ok'\''")" = 20
'
test_expect_code 2 'load.cancel needs one of after_ms and after_tokens' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/bad.db" --set load.cancel="{\"fraction\": 0.5}"
'
test_done
