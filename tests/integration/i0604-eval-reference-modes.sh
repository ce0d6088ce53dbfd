#!/usr/bin/env bash
# The reference modes against the simulator scripted with --answers (issue 18): halueval_qa
# builds HaluEval's prompt from the instruction file given (no knowledge; the system message on
# chat) and parses as HaluEval does ("Nope" is No, "yes" fails), beside llmbench's own stricter
# parse; selfcheck_ngram stores every sample and its score is recomputed from the store alone;
# the yes/no accuracy is recomputed from the stored replies; a judge reply "A correct answer
# would be ..." is no grade A; the answer-sheet count is a completion count, not a score.
. "$(dirname "$0")/../lib.sh"

D=$LB_TOP/tests/data/quality
start_sim PORT --ttft-ms 1 --itl-ms 1 --answers "$D/answers-ref.jsonl" || exit 1
q() { sqlite3 "$TMP/run.db" "$1"; }
metric() { # metric backend
	q "SELECT printf('%.6f', s.value) FROM summaries s JOIN backends b ON b.id = s.backend_id
		WHERE s.metric = '$1' AND b.name = '$2'"
}

printf 'Stand-in instruction.\nJudge the answer.\n' >"$TMP/instr.txt"
printf 'Stand-in system message.\n' >"$TMP/system.txt"
cat >"$TMP/w.json" <<JSON
{
  "name": "eval-ref",
  "backends": [{"name": "simc", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
                "model": "m", "api": "completions"},
               {"name": "simh", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
                "model": "m", "api": "chat"}],
  "load": {"mode": "concurrency", "levels": [1], "requests": 1},
  "eval": {
    "qa": {"path": "$D/qa10.jsonl", "limit": 2},
    "selfcheck": {"samples": 3, "limit": 2, "mode": "selfcheck_ngram"},
    "yesno": {"path": "$D/yn-ref.jsonl", "mode": "halueval_qa", "instruction": "$TMP/instr.txt",
              "system": "$TMP/system.txt"},
    "sheets": {"limit": 1, "max_tokens": 4},
    "judge": {"base_url": "http://127.0.0.1:$PORT/v1", "model": "j"}
  }
}
JSON

test_expect_success 'the run completes' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/run.db" --name r1 --no-progress >out 2>err;
	rc=$?; cat out err; [ $rc = 0 ]
'

test_expect_success 'halueval_qa: the exact prompt, from the instruction file, without knowledge' '
	want=$(printf "Stand-in instruction.\nJudge the answer.\n\n#Question#: What does the Moon orbit?\n#Answer#: The Moon orbits Mars.\n#Your Judgement#: ") &&
	got=$(q "SELECT t.text FROM eval_texts t JOIN backends b ON b.id = t.backend_id
		WHERE b.name = \"simc\" AND t.kind = \"yesno\" AND t.role = \"prompt\" AND t.item_id = \"y6\"") &&
	[ "$got" = "$want" ] && ! q "SELECT text FROM eval_texts WHERE kind = \"yesno\"" | grep -q "orbits the Earth"
'

test_expect_success 'halueval_qa on chat: the system message, then the prompt as the user message' '
	[ "$(q "SELECT json_extract(t.text, \"\$[0].role\") || \"|\" || json_extract(t.text, \"\$[0].content\")
		|| \"|\" || json_extract(t.text, \"\$[1].role\") FROM eval_texts t JOIN backends b ON
		b.id = t.backend_id WHERE b.name = \"simh\" AND t.kind = \"yesno\" AND t.item_id = \"y6\"")" = \
	  "system|Stand-in system message.|user" ]
'

test_expect_success 'HaluEval parse per item: Nope is No, yes and "Yes, No" fail' '
	got=$(q "SELECT group_concat(e.item_id || \"=\" || e.detail || \":\" || e.grade, \" \") FROM
		(SELECT * FROM evals WHERE kind = \"yesno\" ORDER BY item_idx) e JOIN backends b
		ON b.id = e.backend_id WHERE b.name = \"simc\""); echo "$got";
	[ "$got" = "y1=no:correct y2=yes:correct y3=no:correct y4=neither:incorrect y5=no:correct y6=both:incorrect" ] &&
	[ "$(metric yesno_accuracy simc)" = 0.666667 ] &&
	q "SELECT provenance FROM summaries WHERE metric = \"yesno_accuracy\"" | grep -q "^halueval_qa (HaluEval evaluate.py"
'

test_expect_success 'yes/no accuracy recomputed from the stored replies (HaluEval rule)' '
	for be in simc simh; do
		want=$(q "SELECT e.answer || \"	\" || e.reference FROM evals e JOIN backends b
			ON b.id = e.backend_id WHERE b.name = \"$be\" AND e.kind = \"yesno\"" | awk -F"\t" "
			{ a = \$1; gsub(/\\./, \"\", a); y = index(a, \"Yes\") > 0; n = index(a, \"No\") > 0;
			  v = (y && n) || (!y && !n) ? \"fail\" : (y ? \"yes\" : \"no\"); ok += (v == \$2); k++ }
			END { printf \"%.6f\", ok / k }") &&
		echo "$be: recomputed $want, stored $(metric yesno_accuracy $be)" &&
		[ "$want" = "$(metric yesno_accuracy $be)" ] || exit 1
	done
'

test_expect_success 'selfcheck_ngram: every sample stored, every score recomputed from the store' '
	[ "$(q "SELECT COUNT(*) FROM eval_texts WHERE kind = \"selfcheck\" AND role = \"sample\"
		AND status = \"ok\"")" = 12 ] &&
	q "SELECT provenance FROM summaries WHERE metric = \"selfcheck_mean\"" | grep -q "^selfcheck_ngram (SelfCheckGPT" &&
	(cd "$LB_TOP" && LB_EVAL_DB="$TMP/run.db" "$LB_BUILD/tests/test_quality") >rc.out 2>&1; cat rc.out;
	grep -q "recomputed 2 self-check scores and selfcheck_mean from the store" rc.out &&
	! grep -q "FAILED" rc.out
'

test_expect_success 'a judge reply "A correct answer would be ..." is no grade' '
	[ "$(q "SELECT COUNT(*) FROM evals WHERE kind = \"qa\" AND judge_grade = \"none\"
		AND judge_reply LIKE \"A correct answer%\"")" = 4 ] &&
	[ "$(q "SELECT COUNT(*) FROM evals WHERE judge_grade = \"correct\"")" = 0 ]
'

test_expect_success 'the answer-sheet count is a completion count, not a quality figure' '
	q "SELECT provenance FROM summaries WHERE metric = \"sheets_nonempty_replies\"" | grep -q "^completion count" &&
	[ "$(q "SELECT COUNT(*) FROM summaries WHERE metric = \"sheets_answered\"")" = 0 ]
'

cat >"$TMP/w2.json" <<JSON
{
  "name": "eval-own",
  "backends": [{"name": "simc", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
                "model": "m", "api": "completions"}],
  "load": {"mode": "concurrency", "levels": [1], "requests": 1},
  "eval": {"yesno": {"path": "$D/yn-ref.jsonl"}}
}
JSON

test_expect_success 'llmbench own yes/no parse on the same replies: whole words, any case' '
	"$LLMBENCH" run "$TMP/w2.json" --db "$TMP/own.db" --name o1 --no-progress >/dev/null 2>&1 &&
	got=$(sqlite3 "$TMP/own.db" "SELECT group_concat(item_id || \"=\" || detail, \" \") FROM
		(SELECT * FROM evals WHERE kind = \"yesno\" ORDER BY item_idx)"); echo "$got";
	[ "$got" = "y1=no y2=yes y3=neither y4=yes y5=neither y6=both" ] &&
	sqlite3 "$TMP/own.db" "SELECT provenance FROM summaries WHERE metric = \"yesno_accuracy\"" | grep -q "^llmbench_yesno"
'

test_expect_success 'a HaluEval qa_data.json line is read as its two answers' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/h.db" --name h1 --no-progress \
		--set eval.yesno.path="$D/halueval-qa.json" >/dev/null 2>&1 &&
	got=$(sqlite3 "$TMP/h.db" "SELECT group_concat(e.item_id || \"=\" || e.reference || \":\" || e.grade, \" \")
		FROM evals e JOIN backends b ON b.id = e.backend_id WHERE e.kind = \"yesno\" AND b.name = \"simc\""); echo "$got";
	[ "$got" = "1-right=no:correct 1-hallucinated=yes:correct" ]
'

test_done
