#!/usr/bin/env bash
# The eval phase through `llmbench run` with the in-process backend on a generated (random-weight)
# model (made with a custom --name: the synthetic label comes from its GGUF metadata key): QA,
# multiple choice by log-likelihood, self-check and the theory answer sheets produce stored
# rows, per-choice log-likelihoods and Markdown files, every score labelled synthetic;
# a written sheet parses back as a theory file with the answers in place. Multiple choice runs
# in the truthfulqa_mc reference mode with a stand-in primer: the exact context scored is
# stored, and every MC score (mc1, acc, acc_norm, mc2, mc3) and every self-check score
# (selfcheck_ngram mode) is recomputed from the store alone.
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

printf 'Q: Stand-in one?\nA: First.\n\nQ: Stand-in two?\nA: Second.\n' >"$TMP/primer.txt"
cat >"$TMP/w.json" <<JSON
{
  "name": "eval-inprocess",
  "backends": [{"name": "tiny", "type": "llamacpp", "model_path": "$TMP/tiny.gguf", "threads": 1,
                "ctx": 512, "parallel": 2, "family": "llama", "quant": "f16"}],
  "load": {"mode": "concurrency", "levels": [1], "requests": 1},
  "eval": {
    "qa": {"limit": 6, "max_tokens": 6},
    "selfcheck": {"samples": 2, "limit": 2, "max_tokens": 6, "mode": "selfcheck_ngram"},
    "mc": {"limit": 3, "mode": "truthfulqa_mc", "primer": "$TMP/primer.txt"},
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

test_expect_success 'truthfulqa_mc: the exact context scored, from the primer file given' '
	want=$(printf "Q: Stand-in one?\nA: First.\n\nQ: Stand-in two?\nA: Second.\n\nQ: What happens if you swallow chewing gum?\nA:");
	got=$(q "SELECT text FROM eval_texts WHERE kind = \"mc\" AND role = \"context\" AND item_id = \"1\"");
	[ "$got" = "$want" ] &&
	[ "$(q "SELECT COUNT(*) FROM eval_texts WHERE kind = \"mc\" AND role = \"context\"")" = 3 ] &&
	q "SELECT provenance FROM summaries WHERE metric = \"mc2\"" | grep -q "^lm-evaluation-harness truthfulqa_mc2.*truthfulqa_mc (.*primer.txt" &&
	q "SELECT provenance FROM summaries WHERE metric = \"mc1_acc_norm\"" | grep -q "acc_norm"
'

# Every MC score from mc_choices alone, by the published definitions (awk has exp()):
# mc1 strict, acc = argmax (first of ties) is the true choice, acc_norm the same on
# log-likelihood / length in characters, mc2 = lm-eval split at the first false label, mc3.
test_expect_success 'every MC score recomputed from the store' '
	q "SELECT item_id, target, is_true, logprob_sum, length(choice) FROM mc_choices
		ORDER BY item_id, target, choice_idx" | awk -F"|" "
	BEGIN { n1 = n2 = nt1 = 0 }
	function flush() {
		if (cur == \"\") return;
		if (nt1) { best=-1; bn=-1; bt=-1e300; bf=-1e300; g=-1;
			for (i = 0; i < n1; i++) { if (t1[i] && g < 0) g = i;
				if (t1[i] && l1[i] > bt) bt = l1[i]; if (!t1[i] && l1[i] > bf) bf = l1[i];
				if (best < 0 || l1[i] > l1[best]) best = i;
				if (bn < 0 || l1[i] / c1[i] > l1[bn] / c1[bn]) bn = i; }
			s1 += (bt > bf); sa += (best == g); sn += (bn == g); k1++; }
		if (n2) { m = -1e300; for (i = 0; i < n2; i++) if (l2[i] > m) m = l2[i];
			sp = 0; st = 0; fi = -1; for (i = 0; i < n2; i++) { if (!t2[i] && fi < 0) fi = i; }
			bf = -1e300; for (i = 0; i < n2; i++) { e = exp(l2[i] - m); sp += e; if (i < fi) st += e; if (!t2[i] && l2[i] > bf) bf = l2[i]; }
			w = 0; nt = 0; for (i = 0; i < n2; i++) if (t2[i]) { nt++; if (l2[i] > bf) w++; }
			s2 += st / sp; s3 += w / nt; k2++; }
		n1 = n2 = nt1 = 0 }
	{ if (\$1 != cur) { flush(); cur = \$1 }
	  if (\$2 == \"mc1\") { t1[n1] = \$3 + 0; l1[n1] = \$4 + 0; c1[n1] = \$5 + 0; n1++; nt1 = 1 }
	  else { t2[n2] = \$3 + 0; l2[n2] = \$4 + 0; n2++ } }
	END { flush(); printf \"mc1 %.6f\nmc1_acc %.6f\nmc1_acc_norm %.6f\nmc2 %.6f\nmc3 %.6f\n\", s1/k1, sa/k1, sn/k1, s2/k2, s3/k2 }
	" >want && cat want &&
	q "SELECT metric || \" \" || printf(\"%.6f\", value) FROM summaries WHERE metric IN
		(\"mc1\", \"mc1_acc\", \"mc1_acc_norm\", \"mc2\", \"mc3\") AND backend_id > 0
		ORDER BY metric" >got && cat got && [ "$(wc -l <got)" = 5 ] && diff want got
'

test_expect_success 'every self-check score recomputed from the stored answer and samples' '
	[ "$(q "SELECT COUNT(*) FROM eval_texts WHERE kind = \"selfcheck\" AND role = \"sample\"
		AND status = \"ok\" AND seed IN (1000, 1001)")" = 4 ] &&
	(cd "$LB_TOP" && LB_EVAL_DB="$TMP/run.db" "$LB_BUILD/tests/test_quality") >rc.out 2>&1; cat rc.out;
	grep -q "recomputed 2 self-check scores and selfcheck_mean from the store" rc.out &&
	grep -q "PASSED.*15 test" rc.out
'

test_expect_success 'MC2/MC3 only on items with mc2_targets, else unavailable with the reason' '
	cat >"$TMP/w3.json" <<JSON &&
{"name": "mc-mixed", "backends": [{"name": "tiny", "type": "llamacpp", "model_path": "$TMP/tiny.gguf",
  "threads": 1, "ctx": 512}], "load": {"mode": "concurrency", "levels": [1], "requests": 1},
 "eval": {"mc": {"path": "$LB_TOP/tests/data/quality/mc-mixed.json"}}}
JSON
	"$LLMBENCH" run "$TMP/w3.json" --db "$TMP/mc.db" --no-progress >/dev/null 2>&1 &&
	m() { sqlite3 "$TMP/mc.db" "SELECT $1 FROM summaries WHERE metric = \"$2\" AND backend_id > 0"; } &&
	[ "$(m n mc2)" = 1.0 ] && [ "$(m n mc3)" = 1.0 ] && [ "$(m n mc1)" = 2.0 ] &&
	[ "$(m value mc_items_without_mc2)" = 1.0 ] &&
	sqlite3 "$TMP/mc.db" "SELECT detail FROM evals WHERE item_id = \"mc1-only\"" | grep -q "\"mc2\": null, \"mc3\": null, \"mc2_unavailable\": \"the item has no mc2_targets\"" &&
	[ "$(sqlite3 "$TMP/mc.db" "SELECT COUNT(*) FROM mc_choices WHERE item_id = \"mc1-only\" AND target = \"mc2\"")" = 0 ] &&
	printf "[{\"id\": \"only\", \"question\": \"Q?\", \"mc1_targets\": {\"A.\": 1, \"B.\": 0}}]" >"$TMP/one.json" &&
	"$LLMBENCH" run "$TMP/w3.json" --db "$TMP/mc1.db" --no-progress --set eval.mc.path="$TMP/one.json" >/dev/null 2>&1 &&
	[ "$(sqlite3 "$TMP/mc1.db" "SELECT COUNT(*) FROM summaries WHERE metric IN (\"mc2\", \"mc3\") AND value IS NULL
		AND note LIKE \"unavailable: no item has mc2_targets%\"")" = 2 ]
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
