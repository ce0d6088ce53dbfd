#!/usr/bin/env bash
# The eval phase through `llmbench run` against the simulator scripted with --answers: of 10 QA
# items, 5 answered right (one by rejecting a fictional premise), 3 wrong, 2 abstentions: the exact
# fractions, hallucination rate, accuracy given attempted and F come out, with Wilson bounds.
# An invalid answer pattern stops the run before any request (exit 2, item and PCRE2 offset).
# Multiple choice is refused on an endpoint that does not echo prompt log-probabilities, with
# the endpoint named; answer sheets are stored and written; self-check and Yes/No rows exist.
. "$(dirname "$0")/../lib.sh"

D=$LB_TOP/tests/data/quality
# --no-echo: refuse prompt log-probabilities as llama-server does (MC is then unavailable)
start_sim PORT --ttft-ms 1 --itl-ms 1 --answers "$D/answers10.jsonl" --log "$TMP/sim.log" \
	--no-echo || exit 1
q() { sqlite3 "$TMP/run.db" "$1"; }
metric() { q "SELECT printf('%.6f', value) FROM summaries WHERE metric = '$1' AND backend_id > 0"; }

cat >"$TMP/w.json" <<JSON
{
  "name": "eval-sim",
  "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
                "model": "sim-model", "api": "completions"}],
  "load": {"mode": "concurrency", "levels": [1], "requests": 1},
  "eval": {
    "qa": {"path": "$D/qa10.jsonl"},
    "selfcheck": {"samples": 2, "limit": 3},
    "mc": {"limit": 3},
    "yesno": {"limit": 4},
    "sheets": {"limit": 3, "max_tokens": 16},
    "concurrency": 3
  }
}
JSON

test_expect_code 2 'an invalid pattern stops the run before any request' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/bad.db" --no-progress \
		--set eval.qa.path="$D/badpattern.jsonl" 2>err;
	rc=$?; cat err >&2;
	grep -q "badpattern.jsonl.:2: item .bad7.: correct\[1\]: invalid pattern .(seven. at offset 6" err &&
	[ ! -s "$TMP/sim.log" ] && exit $rc
'

test_expect_code 2 'an unknown eval key is named with the valid ones' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/bad.db" --no-progress \
		--set eval.qa.lmit=3 2>err; rc=$?; cat err >&2;
	grep -q "unknown key .lmit. in eval.qa (valid: path, limit, max_tokens, temperature); did you mean .limit.?" err &&
	exit $rc
'

test_expect_success 'the run completes and names the refusing endpoint' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/run.db" --name e1 --no-progress \
		--set eval.sheets.out="$TMP/rep" >out 2>err; rc=$?; cat out err;
	[ $rc = 0 ] &&
	grep -q "multiple choice for .sim. unavailable: endpoint .http://127.0.0.1:$PORT/v1/completions. did not echo prompt log-probabilities" err &&
	grep -q "^run .e1.: evaluation only (no dataset, so no load levels); stored in" out
'

test_expect_success 'grades per item' '
	[ "$(q "SELECT group_concat(item_id || \"=\" || grade, \" \") FROM
		(SELECT item_id, grade FROM evals WHERE kind = \"qa\" ORDER BY item_idx)")" = \
	  "r1=correct r2=correct r3=correct r4=correct w1=incorrect w2=incorrect w3=incorrect a1=not_attempted a2=not_attempted r5=correct" ]
'

test_expect_success 'exact fractions' '
	[ "$(metric qa_correct)" = 0.500000 ] && [ "$(metric qa_incorrect)" = 0.300000 ] &&
	[ "$(metric qa_not_attempted)" = 0.200000 ] &&
	[ "$(metric qa_hallucination_rate)" = 0.375000 ] &&
	[ "$(metric qa_accuracy_given_attempted)" = 0.625000 ] &&
	[ "$(metric qa_f)" = 0.555556 ] &&
	[ "$(metric qa_correct_lo)" = 0.236593 ] && [ "$(metric qa_correct_hi)" = 0.763407 ] &&
	[ "$(q "SELECT n FROM summaries WHERE metric = \"qa_hallucination_rate\"")" = 8.0 ]
'

test_expect_success 'scores carry their method and are not synthetic on an endpoint' '
	q "SELECT provenance, note FROM summaries WHERE metric = \"qa_correct\"" | grep -q "^regex-graded QA" &&
	[ "$(q "SELECT COUNT(*) FROM summaries WHERE metric LIKE \"qa_%\" AND note LIKE \"synthetic%\"")" = 0 ] &&
	[ "$(q "SELECT COUNT(*) FROM evals WHERE synthetic = 1")" = 0 ]
'

test_expect_success 'MC unavailable, never a number, naming the endpoint' '
	[ "$(q "SELECT COUNT(*) FROM summaries WHERE metric IN (\"mc1\", \"mc2\", \"mc3\")
		AND value IS NULL AND note LIKE \"unavailable: endpoint %127.0.0.1:$PORT%\"")" = 3 ]
'

test_expect_success 'self-check, Yes/No and sheet rows are stored' '
	[ "$(q "SELECT COUNT(*) FROM evals WHERE kind = \"selfcheck\" AND score >= 0")" = 3 ] &&
	[ "$(q "SELECT COUNT(*) FROM evals WHERE kind = \"yesno\" AND grade IS NOT NULL")" = 4 ] &&
	[ "$(q "SELECT COUNT(*) FROM evals WHERE kind = \"sheet\" AND status = \"ok\"
		AND latency_ms > 0 AND output_tokens > 0")" = 3 ] &&
	q "SELECT value FROM summaries WHERE metric = \"selfcheck_mean\"" | grep -q "[0-9]" &&
	q "SELECT value FROM summaries WHERE metric = \"yesno_accuracy\"" | grep -q "[0-9]"
'

test_expect_success 'answer sheets are written: one per backend and side by side' '
	ls "$TMP/rep/sheets" && [ -f "$TMP/rep/sheets/sim.md" ] &&
	[ -f "$TMP/rep/sheets/side-by-side.md" ] &&
	[ "$(grep -c "^## Question" "$TMP/rep/sheets/sim.md")" = 3 ] &&
	! grep -q "_To be filled_" "$TMP/rep/sheets/sim.md" &&
	grep -q "^### sim (-, -) · [0-9]* ms · [0-9]* tokens" "$TMP/rep/sheets/side-by-side.md"
'

test_done
