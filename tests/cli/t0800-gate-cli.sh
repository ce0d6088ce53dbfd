#!/usr/bin/env bash
# `llmbench gate`: options and exit codes (0 pass, 1 regression, 2 bad input, 3 store failure),
# rules from the workload or a file, unknown metrics, matching by key with unmatched rows in
# every output, --history, host matching, McNemar on an eval_items table, and the shape of
# the JUnit XML, Markdown summary and JSON outputs.
. "$(dirname "$0")/../lib.sh"

# latencies of tens of ms, so that the harness's own noise (an ASan build, a loaded machine) is
# small beside them: two runs of the same workload must pass the default rules
start_sim PORT --ttft-ms 30 --itl-ms 5 --output-tokens 4 || exit 1
start_sim DEAD --fault http_500 || exit 1
cat >"$TMP/w.json" <<EOF
{
  "name": "gate-cli",
  "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
                "model": "m", "api": "completions", "family": "llama", "quant": "q4_0"}],
  "dataset": {"path": "$LB_TOP/datasets/prompts/llm-questions.txt", "limit": 8},
  "generation": {"max_tokens": 4},
  "load": {"levels": [1], "requests": 4, "repeat": 2}
}
EOF
DB=$TMP/g.db
run() { "$LLMBENCH" run "$TMP/w.json" --db "$DB" --no-progress --name "$@" >/dev/null 2>&1; }
gate() { "$LLMBENCH" gate --db "$DB" "$@"; }

test_expect_success 'setup: four runs of one workload, one with an extra level, one other' '
	run base && run cand && run cand2 &&
	run fewer --set load.requests=2 &&
	run wider --set load.levels="[1,2]" &&
	run other --set name=other-workload
'

test_expect_success '--help prints the usage to stdout' '
	"$LLMBENCH" gate --help >out && grep -q "^usage: llmbench gate \[--db FILE\]" out &&
	grep -q -- "--history N" out && grep -q "^Exit: 0 passed, 1 regression" out
'
test_expect_code 2 'no --db: llmbench.db, missing here' '"$LLMBENCH" gate --baseline base --candidate cand'
test_expect_code 2 'no --candidate' 'gate --baseline base'
test_expect_code 2 'both --baseline and --history' 'gate --baseline base --history 3 --candidate cand'
test_expect_code 2 'neither --baseline nor --history' 'gate --candidate cand'
test_expect_code 2 '--history 0' 'gate --history 0 --candidate cand'
test_expect_code 2 'unknown option' 'gate --baseline base --candidate cand --bogus'
test_expect_success 'a missing store names the file (exit 2)' '
	"$LLMBENCH" gate --db none.db --baseline base --candidate cand 2>err; test $? = 2 &&
	grep -q "none.db" err
'
test_expect_success 'a missing run is exit 2 and named' '
	gate --baseline nope --candidate cand 2>err; test $? = 2 && grep -q "no run named .nope." err
'
test_expect_success 'a file that is not a store is exit 2' '
	echo "this is not a database, just text that is long enough to be a header......." >bad.db &&
	"$LLMBENCH" gate --db bad.db --baseline a --candidate b 2>err; rc=$?; cat err; test $rc = 2
'
test_expect_success 'a store failure (a table gone) is exit 3' '
	cp "$DB" broken.db && sqlite3 broken.db "DROP TABLE summaries" &&
	"$LLMBENCH" gate --db broken.db --baseline base --candidate cand 2>err; rc=$?; cat err; test $rc = 3 &&
	grep -q "no such table" err
'
test_expect_success 'the same run as baseline and candidate is exit 2' '
	gate --baseline base --candidate base 2>err; test $? = 2 && grep -q "same run" err
'
test_expect_success 'another workload as baseline is exit 2 and says why' '
	gate --baseline other --candidate cand 2>err; test $? = 2 && grep -q "of workload" err
'

test_expect_success 'identical runs pass with the default rules (exit 0)' '
	gate --baseline base --candidate cand >out; rc=$?; cat out; test $rc = 0 &&
	grep -q "^gate passed: candidate .cand. against run .base." out
'
test_expect_success 'a baseline with no successful request: passed, with warnings, in every output' '
	run dead --no-preflight --set backends.0.base_url=http://127.0.0.1:$DEAD/v1;
	gate --baseline dead --candidate cand --junit dw.xml --summary dw.md >out; rc=$?; cat out
	test $rc = 0 &&
	grep -q "^note: baseline run .dead. is failed, not done" out &&
	grep -q "^note: baseline sim/concurrency=1 of run .dead. had no successful request" out &&
	grep -q "^gate passed, with warnings: .*; the baseline of 1 row had no successful request" out &&
	grep -q "<property name=\"verdict\" value=\"passed, with warnings\"/>" dw.xml &&
	head -1 dw.md | grep -qx "## llmbench gate: passed, with warnings"
'

cat >"$TMP/rules.json" <<'EOF'
{"rules": {"requests_ok": {"test": "threshold", "threshold": 0.1},
           "ttft_p50_ms": {"test": "welch", "threshold": 10, "alpha": 0.05}}}
EOF
test_expect_success 'a rules file: fewer requests ok is a regression (exit 1) with the numbers' '
	gate --baseline base --candidate fewer --rules rules.json >out; rc=$?; cat out; test $rc = 1 &&
	grep -q "^FAIL sim/concurrency=1 requests_ok: observed 2 requests, baseline 4 requests, limit 3.6 requests (higher is better, threshold 10%" out &&
	grep -q "test threshold, p-value n/a" out
'
test_expect_success 'the rules file replaces the defaults (no tpot check)' '
	gate --baseline base --candidate cand --rules rules.json --all >out && ! grep -q tpot_p50_ms out &&
	grep -q "pass sim/concurrency=1 ttft_p50_ms" out
'
test_expect_success 'an unknown metric in the rules is exit 2 and named' '
	echo "{\"rules\": {\"p99_ttft_ms\": {}}}" >r2.json &&
	gate --baseline base --candidate cand --rules r2.json 2>err; test $? = 2 &&
	grep -q "unknown metric .p99_ttft_ms." err && grep -q "r2.json" err
'
test_expect_success 'a rules file with a typo names the field (exit 2)' '
	echo "{\"rules\": {\"ttft_p99_ms\": {\"treshold\": 0.1}}}" >r3.json &&
	gate --baseline base --candidate cand --rules r3.json 2>err; test $? = 2 &&
	grep -q "rules file .r3.json.: unknown key .treshold. in rules.ttft_p99_ms (valid: .*); did you mean .threshold.?" err
'
test_expect_success 'a missing rules file is exit 2 and says why, once' '
	gate --baseline base --candidate cand --rules none.json 2>err; rc=$?; cat err; test $rc = 2 &&
	test "$(cat err)" = "llmbench: error: cannot open '"'"'none.json'"'"': No such file or directory"
'
test_expect_success 'a known metric neither run has is reported as skipped, not dropped' '
	echo "{\"rules\": {\"tg_tps\": {}}}" >r4.json &&
	{ gate --baseline base --candidate cand --rules r4.json >out; test $? = 2; } && cat out &&
	grep -q "^skip (all rows) tg_tps: skipped" out && grep -q "^gate compared nothing" out
'

test_expect_success 'rules from the workload gate section' '
	"$LLMBENCH" run "$TMP/w.json" --db "$DB" --no-progress --name wbase \
		--set gate="{\"rules\": {\"requests_ok\": {\"threshold\": 0.1, \"test\": \"threshold\"}}}" >/dev/null 2>&1 &&
	"$LLMBENCH" run "$TMP/w.json" --db "$DB" --no-progress --name wfewer --set load.requests=2 \
		--set gate="{\"rules\": {\"requests_ok\": {\"threshold\": 0.1, \"test\": \"threshold\"}}}" >/dev/null 2>&1 &&
	gate --baseline wbase --candidate wfewer >out; rc=$?; cat out; test $rc = 1 &&
	grep -q "^FAIL sim/concurrency=1 requests_ok" out && grep -q "1 failed" out
'

test_expect_success 'unmatched rows are listed in every output' '
	gate --baseline base --candidate wider --junit u.xml --summary u.md --json u.json \
		--json-bigger ub.json --bencher ubm.json >out; rc=$?; cat out; test $rc = 0 &&
	grep -q "unmatched row: candidate only: sim (llama q4_0)/concurrency=2" out &&
	grep -q "candidate only: sim (llama q4_0)/concurrency=2" u.xml &&
	grep -q "candidate only: sim (llama q4_0)/concurrency=2" u.md &&
	gate --baseline wider --candidate base >out2; cat out2;
	grep -q "baseline only: sim (llama q4_0)/concurrency=2" out2
'
test_expect_code 1 '--fail-unmatched makes an unmatched row fail' \
	'gate --baseline base --candidate wider --fail-unmatched'

test_expect_success 'JUnit XML has the testsuites/testsuite/testcase/failure shape' '
	gate --baseline base --candidate fewer --rules rules.json --junit j.xml >/dev/null;
	python3 - j.xml <<-"EOF"
	import sys, xml.etree.ElementTree as ET
	root = ET.parse(sys.argv[1]).getroot()
	assert root.tag == "testsuites", root.tag
	suites = root.findall("testsuite")
	assert len(suites) == 1
	s = suites[0]
	cases = s.findall("testcase")
	assert int(s.get("tests")) == len(cases) == int(root.get("tests")) > 0
	fails = [c for c in cases if c.find("failure") is not None]
	assert int(s.get("failures")) == len(fails) == int(root.get("failures")) >= 1
	for c in cases:
	    assert c.get("classname") and c.get("name")
	f = fails[0].find("failure")
	m = f.get("message")
	assert fails[0].get("name") == "requests_ok" and fails[0].get("classname") == "sim/concurrency=1"
	for w in ("observed 2", "baseline 4", "limit 3.6", "threshold 10%", "test threshold", "p-value"):
	    assert w in m, (w, m)
	EOF
'
test_expect_success 'GITHUB_STEP_SUMMARY is appended to when --summary names it by another path' '
	echo "# earlier step" >ghs.md &&
	GITHUB_STEP_SUMMARY="$PWD/ghs.md" gate --baseline base --candidate fewer --rules rules.json \
		--summary ./ghs.md >/dev/null;
	head -1 ghs.md | grep -qx "# earlier step" && grep -q "^## llmbench gate: FAILED" ghs.md
'
test_expect_success 'the Markdown summary is a table under 1 MiB' '
	gate --baseline base --candidate fewer --rules rules.json --summary s.md >/dev/null;
	test $(wc -c <s.md) -lt 1048576 &&
	grep -q "^## llmbench gate: FAILED" s.md &&
	python3 - s.md <<-"EOF"
	import sys, re
	lines = open(sys.argv[1]).read().splitlines()
	i = next(k for k, l in enumerate(lines) if l.startswith("| status |"))
	assert re.match(r"^\|( *-+:? *\|)+$", lines[i + 1]), lines[i + 1]
	ncol = lines[i].count("|")
	rows = [l for l in lines[i + 2:] if l.startswith("|")]
	assert rows and all(r.count("|") - r.count("\\|") == ncol for r in rows)
	assert rows[0].startswith("| **FAIL** | sim/concurrency=1 | requests_ok |"), rows[0]
	EOF
'
test_expect_success 'github-action-benchmark and Bencher JSON' '
	gate --baseline base --candidate cand --json s.json --json-bigger b.json --bencher bmf.json >/dev/null &&
	python3 - s.json b.json bmf.json <<-"EOF"
	import sys, json
	small, big, bmf = (json.load(open(p)) for p in sys.argv[1:4])
	for arr in (small, big):
	    assert isinstance(arr, list) and arr
	    for e in arr:
	        assert isinstance(e["name"], str) and isinstance(e["unit"], str)
	        assert isinstance(e["value"], (int, float))
	names = [e["name"] for e in small]
	assert "sim/concurrency=1 ttft_p50_ms" in names, names
	assert "sim/concurrency=1 output_token_throughput" in [e["name"] for e in big]
	assert not set(names) & set(e["name"] for e in big)
	m = bmf["sim/concurrency=1"]["ttft_p50_ms"]
	assert isinstance(m["value"], (int, float))
	assert m["lower_value"] <= m["value"] <= m["upper_value"]
	EOF
'

test_expect_success '--history compares with the last N earlier runs of the workload' '
	gate --history 2 --candidate cand2 >out; rc=$?; cat out; test $rc = 0 &&
	grep -q "against the last 2 earlier runs of .gate-cli. (.cand., .base.)" out
'
test_expect_success '--history with no earlier run is exit 2' '
	gate --history 3 --candidate base 2>err; test $? = 2 && grep -q "no earlier done run" err
'

test_expect_success 'runs from another host: exit 2 unless --ignore-host' '
	cp "$DB" h.db && sqlite3 h.db "UPDATE runs SET host = '"'"'elsewhere'"'"' WHERE name = '"'"'base'"'"'" &&
	{ "$LLMBENCH" gate --db h.db --baseline base --candidate cand 2>err; test $? = 2; } &&
	grep -q -- "--ignore-host" err &&
	"$LLMBENCH" gate --db h.db --baseline base --candidate cand --ignore-host >/dev/null
'

test_expect_success 'McNemar on paired items of the eval_items view' '
	cp "$DB" m.db &&
	sqlite3 m.db "INSERT INTO evals (run_id, backend_id, kind, status, item_id, grade)
		SELECT r.id, b.id, '"'"'qa'"'"', '"'"'ok'"'"', printf('"'"'q%d'"'"', n.v),
			CASE WHEN r.name = '"'"'base'"'"' THEN (CASE WHEN n.v <= 40 THEN '"'"'correct'"'"' ELSE '"'"'incorrect'"'"' END)
			     ELSE (CASE WHEN n.v <= 25 THEN '"'"'correct'"'"' ELSE '"'"'not_attempted'"'"' END) END
		FROM runs r JOIN backends b ON b.run_id = r.id,
		     (WITH RECURSIVE c(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM c WHERE v < 50) SELECT v FROM c) n
		WHERE r.name IN ('"'"'base'"'"', '"'"'cand'"'"');" &&
	echo "{\"rules\": {\"qa_correct\": {\"test\": \"mcnemar\", \"alpha\": 0.05}}}" >mc.json &&
	{ "$LLMBENCH" gate --db m.db --baseline base --candidate cand --rules mc.json >out; test $? = 1; } && cat out &&
	grep -q "^FAIL sim qa_correct: observed 0.5, baseline 0.8" out && grep -q "15 items got worse, 0 better of 50 paired" out &&
	"$LLMBENCH" gate --db m.db --baseline base --candidate cand --rules mc.json --all >/dev/null;
	"$LLMBENCH" gate --db "$DB" --baseline base --candidate cand --rules mc.json >out; rc=$?; cat out; test $rc = 2 &&
	grep -q "^skip sim qa_correct: skipped (test mcnemar): unavailable" out
'
test_done
