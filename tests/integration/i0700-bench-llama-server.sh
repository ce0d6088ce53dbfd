#!/usr/bin/env bash
# A user who knows only `vllm bench serve` benchmarks a running llama-server from flags alone:
# `llmbench bench --base-url URL --model M --num-prompts N --request-rate R --max-concurrency C
# --save-result` against the real llama-server (serving a generated model) prints vLLM's
# summary block, stores the run and writes vLLM's result JSON, with every request ok and the
# server's own token counts (usage) in the totals.
. "$(dirname "$0")/../lib.sh"

SERVER=$LLAMA_SERVER

test_expect_success 'llama-server is built (scripts/build-llama-server.sh)' '
	bash "$LB_TOP/scripts/build-llama-server.sh" && test -x "$SERVER"
'
test -x "$SERVER" || { test_done; exit; }
test_expect_success 'make a tiny llama model' '
	"$LLMBENCH" model make --arch llama --out "$TMP/tiny.gguf" --seed 7
'
start_llama_server PORT "$TMP/tiny.gguf" -c 2048 -np 4 >"$TMP/up" 2>&1
up=$?
test_expect_success 'llama-server answers /health within 60 s' 'cat "$TMP/up"; test '"$up"' = 0'
[ "$up" = 0 ] || { test_done; exit; }

for api in completions chat; do
	test_expect_success "bench --api $api: all at once, 4 in flight, vLLM's block and result" '
		"$LLMBENCH" bench --base-url "http://127.0.0.1:$PORT" --model tiny --api '"$api"' \
			--num-prompts 16 --max-concurrency 4 --dataset-name lines --max-tokens 16 \
			--ignore-eos --save-result --result-filename '"$api"'.json --no-progress \
			>out 2>err; rc=$?; cat out err; [ $rc -eq 0 ] &&
		grep -q "^============ Serving Benchmark Result ============$" out &&
		grep -Eq "^Successful requests: +16 *$" out && grep -Eq "^Failed requests: +0 *$" out &&
		grep -Eq "^Total generated tokens: +256 *$" out &&
		python3 -c "
import json; d = json.load(open(\"'"$api"'.json\"))
assert d[\"completed\"] == 16 and d[\"request_rate\"] == \"inf\" and d[\"max_concurrency\"] == 4
assert d[\"total_output_tokens\"] == 256 and all(n > 0 for n in d[\"input_lens\"])
# the peak as vLLM counts it: the most requests active in one 1 s bucket (all 16 in a short run)
assert d[\"mean_ttft_ms\"] > 0 and d[\"mean_tpot_ms\"] > 0 and 4 <= d[\"max_concurrent_requests\"] <= 16
# one ITL per streamed chunk after the first, as vLLM records them: 15 for 16 tokens, fewer
# when the server sends two tokens in one chunk (llama-server may)
assert all(1 <= len(x) <= 15 for x in d[\"itls\"]) and sum(map(len, d[\"itls\"])) >= 16 * 14, [len(x) for x in d[\"itls\"]]"
	'
done
test_expect_success 'bench at a request rate: Poisson arrivals, stored like any run' '
	"$LLMBENCH" bench --host 127.0.0.1 --port "$PORT" --model tiny --num-prompts 8 \
		--request-rate 20 --dataset-name lines --max-tokens 8 --no-progress >out 2>&1; rc=$?
	cat out; [ $rc -eq 0 ] && grep -Eq "^Request rate configured \(RPS\): +20.00 *$" out &&
	test "$("$LLMBENCH" runs --format csv | grep -c ",done,")" -eq 3
'
test_done
