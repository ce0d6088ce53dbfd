#!/usr/bin/env bash
# Synthetic items carry their own output length (sent as max_tokens with ignore_eos) and, with
# dataset.token_ids, are sent as token ids on /v1/completions: the simulator's usage then
# counts exactly the ids sent and exactly the tokens asked for.
. "$(dirname "$0")/../lib.sh"

[ -f "$LB_TOP/third_party/llama/.ready" ] || [ -n "${LLAMA_PREFIX:-}" ] || {
	test_skip "llama.cpp is not built in: synthetic prompts need a tokenizer"; test_done; exit; }
start_sim PORT --ttft-ms 0 --itl-ms 1 --output-tokens 500 || exit 1
cat >"$TMP/spec.json" <<'X'
{"tokenizer": "llama-spm", "prompt_tokens": 64, "output_tokens": {"dist": "uniform", "min": 5, "max": 9},
 "count": 30, "seed": 7}
X
run() {
	(cd "$LB_TOP" && "$LLMBENCH" run workloads/synthetic.json --db "$TMP/$1.db" --no-progress \
		--set backends.0.base_url=http://127.0.0.1:$PORT/v1 --set dataset.path="$TMP/spec.json" \
		--set load.levels="[4]" --set load.requests=30 --set load.warmup=0 --set load.lag_bound_ms=1000 \
		--set dataset.limit=30 "${@:2}")
}
test_expect_success 'each request asks for its own output length and gets exactly that many' '
	run len >/dev/null &&
	test "$(sqlite3 "$TMP/len.db" "SELECT count(*) FROM requests WHERE status = '\''ok'\'' AND output_tokens BETWEEN 5 AND 9")" = 30 &&
	test "$(sqlite3 "$TMP/len.db" "SELECT count(DISTINCT output_tokens) FROM requests")" -gt 1
'
test_expect_success 'with dataset.token_ids the prompt goes as 64 token ids' '
	run ids --set dataset.token_ids=true >/dev/null &&
	test "$(sqlite3 "$TMP/ids.db" "SELECT min(prompt_tokens) || \",\" || max(prompt_tokens) FROM requests")" = "64,64"
'
test_done
