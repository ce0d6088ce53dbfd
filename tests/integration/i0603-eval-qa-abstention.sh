#!/usr/bin/env bash
# QA grading as SimpleQA grades (issue 12 case 6): through `llmbench run` against the simulator
# scripted with --answers, an invented answer followed by "There is no doubt." is incorrect (the
# old grading counted it a correct rejection of the premise), a hedged right answer is correct,
# an abstention with a wrong guess is incorrect, a negated wrong answer beside the right one is
# correct, and only an answer that abstains and says nothing else is not attempted.
. "$(dirname "$0")/../lib.sh"

D=$LB_TOP/tests/data/quality
start_sim PORT --ttft-ms 1 --itl-ms 1 --answers "$D/answers-tricky.jsonl" || exit 1
q() { sqlite3 "$TMP/run.db" "$1"; }
metric() { q "SELECT printf('%.6f', value) FROM summaries WHERE metric = '$1' AND backend_id > 0"; }

cat >"$TMP/w.json" <<JSON
{
  "name": "eval-abstention",
  "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
                "model": "sim-model", "api": "completions"}],
  "load": {"mode": "concurrency", "levels": [1], "requests": 1},
  "eval": {"qa": {"path": "$D/qa-tricky.jsonl"}}
}
JSON

test_expect_success 'the run completes' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/run.db" --name t1 --no-progress >out 2>err;
	rc=$?; cat out err; [ $rc = 0 ]
'

test_expect_success 'grades per item' '
	got=$(q "SELECT group_concat(item_id || \"=\" || grade, \" \") FROM
		(SELECT item_id, grade FROM evals WHERE kind = \"qa\" ORDER BY item_idx)");
	echo "$got";
	[ "$got" = "u1=incorrect u2=correct u3=incorrect a1=correct a2=correct a3=incorrect a4=not_attempted a5=incorrect" ]
'

test_expect_success 'the fractions follow: 3 correct, 4 incorrect, 1 not attempted of 8' '
	[ "$(metric qa_correct)" = 0.375000 ] && [ "$(metric qa_incorrect)" = 0.500000 ] &&
	[ "$(metric qa_not_attempted)" = 0.125000 ] &&
	[ "$(metric qa_hallucination_rate)" = 0.571429 ]
'

test_expect_success 'the fractions recomputed from the stored grades' '
	for g in correct incorrect not_attempted; do
		want=$(q "SELECT printf(\"%.6f\", AVG(grade = \"$g\")) FROM evals WHERE kind = \"qa\" AND status = \"ok\"");
		[ "$want" = "$(metric qa_$g)" ] || exit 1
	done
'

test_done
