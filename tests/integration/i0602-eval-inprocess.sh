#!/usr/bin/env bash
# The eval phase through `llmbench run` with the in-process backend on a generated (random-weight)
# model (made with a custom --name: the synthetic label comes from its GGUF metadata key): QA,
# multiple choice by log-likelihood, self-check and the theory answer sheets produce stored
# rows, per-choice log-likelihoods and Markdown files, every score labelled synthetic;
# a written sheet parses back as a theory file with the answers in place.
. "$(dirname "$0")/../lib.sh"

if "$LLMBENCH" bench-model --model "$TMP/none.gguf" 2>&1 | grep -q "not built in"; then
	test_skip "llama.cpp is not built in (make deps)"
	test_done
	exit
fi
q() { sqlite3 "$TMP/run.db" "$1"; }

test_expect_success 'make a llama model' '
	"$LLMBENCH" model make --arch llama --name "Acme 7B chat" --out "$TMP/tiny.gguf" --seed 5 \
		--ctx 512
'

cat >"$TMP/w.json" <<JSON
{
  "name": "eval-inprocess",
  "backends": [{"name": "tiny", "type": "llamacpp", "model_path": "$TMP/tiny.gguf", "threads": 1,
                "ctx": 512, "parallel": 2, "family": "llama", "quant": "f16"}],
  "load": {"mode": "concurrency", "levels": [1], "requests": 1},
  "eval": {
    "qa": {"limit": 6, "max_tokens": 6},
    "selfcheck": {"samples": 2, "limit": 2, "max_tokens": 6},
    "mc": {"limit": 3},
    "sheets": {"limit": 3, "max_tokens": 8, "out": "$TMP/rep"},
    "concurrency": 2
  }
}
JSON

test_expect_success 'the run completes' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/run.db" --name e1 --no-progress >out 2>err;
	rc=$?; cat out err; [ $rc = 0 ] && grep -q "scores are synthetic" err
'

test_expect_success 'QA rows: graded, timed, token counts from the tokenizer' '
	[ "$(q "SELECT COUNT(*) FROM evals WHERE kind = \"qa\" AND status = \"ok\" AND grade IN
		(\"correct\", \"incorrect\", \"not_attempted\") AND latency_ms > 0
		AND output_tokens BETWEEN 1 AND 6 AND synthetic = 1")" = 6 ]
'

test_expect_success 'QA fractions stored with Wilson bounds, labelled synthetic' '
	[ "$(q "SELECT COUNT(*) FROM summaries WHERE metric IN (\"qa_correct\", \"qa_incorrect\",
		\"qa_not_attempted\") AND n = 6 AND note LIKE \"synthetic%\"")" = 3 ] &&
	[ "$(q "SELECT ROUND(SUM(value), 9) FROM summaries WHERE metric IN (\"qa_correct\",
		\"qa_incorrect\", \"qa_not_attempted\")")" = 1.0 ] &&
	[ "$(q "SELECT COUNT(*) FROM summaries a JOIN summaries b ON b.metric = a.metric || \"_lo\"
		JOIN summaries c ON c.metric = a.metric || \"_hi\" WHERE a.metric = \"qa_correct\"
		AND b.value <= a.value AND a.value <= c.value")" = 1 ]
'

test_expect_success 'MC: a log-likelihood per choice, MC1/MC2/MC3 in range' '
	n=$(q "SELECT COUNT(*) FROM mc_choices WHERE logprob_sum < 0 AND n_tokens > 0 AND n_bytes > 0");
	[ "$n" -ge 18 ] &&
	[ "$(q "SELECT COUNT(*) FROM evals WHERE kind = \"mc\" AND score IN (0, 1)")" = 3 ] &&
	[ "$(q "SELECT COUNT(*) FROM summaries WHERE metric IN (\"mc1\", \"mc2\", \"mc3\")
		AND value BETWEEN 0 AND 1 AND n = 3 AND note LIKE \"synthetic%\"")" = 3 ]
'

# MC2 = mean over items of the normalised probability mass of the true answers, recomputed here
# in awk from the stored per-choice log-likelihoods (not in sqlite3, whose exp() is optional):
# a recomputation that cannot run fails.
test_expect_success 'MC2 recomputed from the stored log-likelihoods' '
	got=$(q "SELECT printf(\"%.12f\", value) FROM summaries WHERE metric = \"mc2\"") &&
	q "SELECT item_id, is_true, printf(\"%.17g\", logprob_sum) FROM mc_choices
		WHERE target = \"mc2\" ORDER BY item_id" >mc2.rows &&
	want=$(awk -F"|" "
		{ id[NR] = \$1; tr[NR] = \$2; lp[NR] = \$3 + 0;
		  if (!(\$1 in mx) || lp[NR] > mx[\$1]) mx[\$1] = lp[NR] }
		END {
			for (i = 1; i <= NR; i++) {
				e = exp(lp[i] - mx[id[i]]); all[id[i]] += e;
				if (tr[i] == 1) t[id[i]] += e
			}
			for (k in all) { s += t[k] / all[k]; n++ }
			if (n != 3) exit 1;
			printf \"%.12f\", s / n
		}" mc2.rows) &&
	echo "mc2 stored $got, recomputed $want from $(wc -l <mc2.rows) choices" &&
	[ -n "$got" ] && [ -n "$want" ] &&
	awk -v a="$got" -v b="$want" "BEGIN { d = a - b; exit !(d <= 1e-9 && d >= -1e-9) }"
'

test_expect_success 'self-check rows and summary' '
	[ "$(q "SELECT COUNT(*) FROM evals WHERE kind = \"selfcheck\" AND score >= 0")" = 2 ] &&
	[ "$(q "SELECT COUNT(*) FROM summaries WHERE metric = \"selfcheck_mean\" AND value >= 0")" = 1 ]
'

test_expect_success 'answer sheets stored and written, labelled synthetic' '
	[ "$(q "SELECT COUNT(*) FROM evals WHERE kind = \"sheet\" AND status = \"ok\"")" = 3 ] &&
	[ -f "$TMP/rep/sheets/tiny.md" ] && [ -f "$TMP/rep/sheets/side-by-side.md" ] &&
	grep -q "Synthetic" "$TMP/rep/sheets/tiny.md" &&
	grep -q "^### tiny (llama, f16) · [0-9]* ms · [0-9]* tokens" "$TMP/rep/sheets/side-by-side.md" &&
	! grep -q "_To be filled_" "$TMP/rep/sheets/tiny.md"
'

test_expect_success 'a written sheet parses back as a theory file' '
	sed -n "1p" "$TMP/rep/sheets/tiny.md" | grep -q "^# LLaMA/Falcon/Mistral" &&
	cat >"$TMP/w2.json" <<JSON &&
{"name": "reparse", "backends": [{"name": "x", "type": "openai", "base_url": "http://127.0.0.1:9/v1"}],
 "dataset": {"path": "$TMP/rep/sheets/tiny.md", "format": "theory"},
 "load": {"mode": "concurrency", "levels": [1], "requests": 1}}
JSON
	"$LLMBENCH" run "$TMP/w2.json" --db "$TMP/re.db" --no-progress >/dev/null 2>&1;
	[ $? != 2 ]
'

test_done
