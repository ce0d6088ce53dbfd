#!/usr/bin/env bash
# `llmbench run` with an in-process llamacpp backend: a workload over the seed prompts at
# concurrency 1 and 4 (4 sequences in one context) stores every request ok, with exact token
# counts from the model's tokenizer, max_tokens respected, TTFT and TPOT measured; the same
# greedy prompts give the same stored text at both levels; a missing model fails the backend.
. "$(dirname "$0")/../lib.sh"

if "$LLMBENCH" bench-model --model "$TMP/none.gguf" 2>&1 | grep -q "not built in"; then
	test_skip "llama.cpp is not built in (make deps)"
	test_done
	exit
fi

workload() { # file model
	cat >"$1" <<EOF
{
  "name": "llamacpp-run",
  "backends": [{"name": "tiny", "type": "llamacpp", "model_path": "$2", "threads": 1,
                "ctx": 256, "parallel": 4, "family": "llama", "quant": "f16"}],
  "dataset": {"path": "$LB_TOP/datasets/prompts/llm-questions.txt", "format": "lines",
              "limit": 8},
  "generation": {"max_tokens": 6, "temperature": 0, "ignore_eos": true},
  "load": {"mode": "concurrency", "levels": [1, 4], "requests": 8, "warmup": 0}
}
EOF
}
q() { sqlite3 "$TMP/run.db" "$1"; }

test_expect_success 'make a llama model' '
	"$LLMBENCH" model make --arch llama --out "$TMP/tiny.gguf" --seed 3 --ctx 512
'

test_expect_success 'run stores 16 requests, all ok' '
	workload "$TMP/w.json" "$TMP/tiny.gguf" &&
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/run.db" --name r1 --no-progress --keep-text >out &&
	cat out && grep -q "16 requests ok, 0 failed" out
'

test_expect_success 'exact counts from the tokenizer, max_tokens respected' '
	[ "$(q "SELECT COUNT(*) FROM requests WHERE status = '\''ok'\'' AND output_tokens = 6
		AND output_tokens_source = '\''tokenizer:llama-spm'\''
		AND prompt_tokens > 1 AND prompt_tokens_source = '\''tokenizer:llama-spm'\''
		AND n_chunks = 6 AND finish_reason = '\''length'\''")" = 16 ]
'

test_expect_success 'TTFT and TPOT measured for every request' '
	[ "$(q "SELECT COUNT(*) FROM requests WHERE ttft_ms > 0 AND tpot_ms > 0
		AND t_send_ns <= t_first_ns AND t_first_ns <= t_end_ns")" = 16 ]
'

test_expect_success 'greedy text is the same alone and beside 3 other sequences' '
	q "SELECT l.value, r.item_idx, r.output_text FROM requests r JOIN levels l
		ON l.id = r.level_id ORDER BY r.item_idx, l.value" >texts &&
	[ "$(q "SELECT COUNT(*) FROM (SELECT r.item_idx FROM requests r GROUP BY r.item_idx
		HAVING COUNT(DISTINCT r.output_text) = 1 AND COUNT(*) = 2)")" = 8 ] ||
	{ cat texts; false; }
'

# the in-process backend decodes on the harness thread: its busy thread is the server working,
# so no level is marked client-bound (docs/METRICS.md "Validity")
test_expect_success 'in-process levels are not marked client-bound' '
	q "SELECT idx, valid, invalid_reason FROM levels" &&
	test "$(q "SELECT count(*) FROM levels WHERE valid = 0 OR invalid_reason LIKE '\''%client%'\''")" = 0
'
test_expect_success 'a missing model fails that backend, clearly' '
	workload "$TMP/w2.json" "$TMP/missing.gguf" &&
	"$LLMBENCH" run "$TMP/w2.json" --db "$TMP/run2.db" --name r2 --no-progress >out 2>err
	rc=$?; cat out err
	[ $rc -ne 0 ] && grep -q "missing.gguf" err
'

test_done
