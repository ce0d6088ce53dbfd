#!/usr/bin/env bash
# `llmbench sim` knows the truth of production-shaped traffic: a prefix cache (a prompt's leading
# whole blocks seen before take --prefix-cache-ms-per-block each off TTFT), GET /metrics in
# vLLM's names with exact values (running, waiting, KV usage, prefix queries and hits, finish
# reasons, TTFT/ITL histograms), and client cancellations (the stream stops, the slot frees, the
# abort is counted). Times: never early, generously late (a shared machine).
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 100 --prompt-ms-per-token 2 --itl-ms 5 --output-tokens 4 \
	--prefix-cache-ms-per-block 20 --prefix-block-tokens 4 --log "$TMP/p.log" || exit 1
start_sim PORTQ --ttft-ms 20 --itl-ms 50 --output-tokens 40 --capacity 1 \
	--kv-cache-tokens 1000 --log "$TMP/q.log" || exit 1

post() { # port prompt id [curl args...]
	local port=$1 prompt=$2 id=$3
	shift 3
	curl -sS -N "http://127.0.0.1:$port/v1/completions" \
		-d "{\"prompt\": \"$prompt\", \"stream\": true}" -H "X-LLMBench-Request-Id: $id" "$@"
}
# ttft LOG ID: ms from recv to first
ttft() { awk -v id="$2" '$2 == id && $3 == "recv" { r = $1 } $2 == id && $3 == "first" { printf "%.3f\n", ($1 - r) / 1e6 }' "$1"; }
metric() { # port name [label filter]
	curl -sS "http://127.0.0.1:$1/metrics" | grep -F "$2{" | grep -F "${3:-}" | awk '{ print $2 }'
}
W20="a b c d e f g h i j k l m n o p q r s t"

test_expect_success 'first sight of a 20-token prompt: TTFT = 100 + 20 * 2 = 140 ms' '
	post $PORT "$W20" r1 >/dev/null && sleep 0.1 && t=$(ttft p.log r1) && echo $t &&
	awk -v t=$t "BEGIN { exit !(t >= 140 && t < 180) }"
'
test_expect_success 'the same prompt again: 5 cached blocks save 100 ms (40 ms)' '
	post $PORT "$W20" r2 >/dev/null && sleep 0.1 && t=$(ttft p.log r2) && echo $t &&
	awk -v t=$t "BEGIN { exit !(t >= 40 && t < 80) }"
'
test_expect_success 'a prompt sharing its first 9 tokens: 2 whole blocks cached (100 ms)' '
	post $PORT "a b c d e f g h i X Y Z M N O P Q R S T" r3 >/dev/null && sleep 0.1 &&
	t=$(ttft p.log r3) && echo $t && awk -v t=$t "BEGIN { exit !(t >= 100 && t < 140) }"
'
test_expect_success 'token-id prompts are blocks too: the same ids hit, TTFT 100 + 8 * 2 - 40' '
	for id in i1 i2; do
		curl -sS "http://127.0.0.1:$PORT/v1/completions" -H "X-LLMBench-Request-Id: $id" \
			-d "{\"prompt\": [5, 6, 7, 8, 9, 10, 11, 12], \"stream\": true}" >/dev/null
	done && sleep 0.1 && t1=$(ttft p.log i1) && t2=$(ttft p.log i2) && echo $t1 $t2 &&
	awk -v a=$t1 -v b=$t2 "BEGIN { exit !(a >= 116 && a < 156 && b >= 76 && b < 116) }"
'
test_expect_success '/metrics: prefix queries and hits in tokens (20+20+20+8+8, 0+20+8+0+8)' '
	q=$(metric $PORT vllm:prefix_cache_queries_total) && h=$(metric $PORT vllm:prefix_cache_hits_total) &&
	echo "$q $h" && test "$q" = 76 && test "$h" = 36
'
test_expect_success '/metrics: 5 finished with reason stop, 20 tokens generated, TTFT histogram of 5' '
	test "$(metric $PORT vllm:request_success_total stop)" = 5 &&
	test "$(metric $PORT vllm:request_success_total abort)" = 0 &&
	test "$(metric $PORT vllm:generation_tokens_total)" = 20 &&
	test "$(metric $PORT vllm:prompt_tokens_total)" = 76 &&
	test "$(metric $PORT vllm:time_to_first_token_seconds_count)" = 5 &&
	test "$(metric $PORT vllm:inter_token_latency_seconds_count)" = 15 &&
	test "$(metric $PORT vllm:time_to_first_token_seconds_bucket le=\"0.04\")" = 0 &&
	test "$(metric $PORT vllm:time_to_first_token_seconds_bucket le=\"+Inf\")" = 5
'
test_expect_success '/metrics is the Prometheus text format: HELP and TYPE before each family' '
	curl -sS -D h "http://127.0.0.1:$PORT/metrics" >m && grep -qi "^content-type: text/plain; version=0.0.4" h &&
	grep -q "^# TYPE vllm:time_to_first_token_seconds histogram$" m &&
	grep -q "^# TYPE vllm:num_requests_running gauge$" m &&
	test "$(grep -c "^# TYPE" m)" = "$(grep -c "^# HELP" m)"
'
test_expect_success 'without --prefix-cache-ms-per-block no prefix figures are exposed' '
	curl -sS "http://127.0.0.1:$PORTQ/metrics" >mq && ! grep -q prefix_cache mq
'
test_expect_success 'running, waiting and KV usage while a stream runs and one waits (capacity 1)' '
	(post $PORTQ "$W20" c1 --max-time 1.5 >/dev/null 2>&1 &) &&
	for i in $(seq 50); do grep -q " c1 first" q.log && break; sleep 0.1; done &&
	(post $PORTQ "x y" c2 --max-time 2 >/dev/null 2>&1 &) &&
	for i in $(seq 50); do grep -q " c2 recv" q.log && break; sleep 0.1; done &&
	curl -sS "http://127.0.0.1:$PORTQ/metrics" >mq2 && grep "^vllm:\(num\|kv\)" mq2 &&
	grep -q "^vllm:num_requests_running{model_name=\"llmbench-sim\"} 1$" mq2 &&
	grep -q "^vllm:num_requests_waiting{model_name=\"llmbench-sim\"} 1$" mq2 &&
	kv=$(grep "^vllm:kv_cache_usage_perc" mq2 | cut -d" " -f2) &&
	awk -v kv=$kv "BEGIN { exit !(kv >= 0.020 && kv <= 0.060) }"
'
test_expect_success 'a client that leaves mid-stream: the sim stops sending and counts an abort' '
	for i in $(seq 80); do test "$(grep -c " gone " q.log)" = 2 && break; sleep 0.1; done &&
	sleep 0.2 && grep " c1 " q.log >c1 && cut -d" " -f3 c1 | uniq -c &&
	tail -n 1 c1 | grep -q " gone " && ! grep -q " done " c1 &&
	test "$(grep -c " c1 \(first\|chunk\) " c1)" -lt 40 &&
	test "$(metric $PORTQ vllm:request_success_total abort)" = 2 &&
	test "$(metric $PORTQ vllm:num_requests_running)" = 0 &&
	test "$(metric $PORTQ vllm:num_requests_waiting)" = 0
'
test_expect_success 'the waiting request got the slot when the first left, and left in turn' '
	grep " c2 " q.log | cut -d" " -f3 | tr "\n" " " | grep -q "^recv first .*gone $"
'
test_done
