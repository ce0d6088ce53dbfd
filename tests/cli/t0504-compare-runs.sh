#!/usr/bin/env bash
# compare: two crafted runs matched by backend and level; unmatched rows listed; errors.
. "$(dirname "$0")/../lib.sh"

FIXTURE=$LB_TOP/${LB_BUILD:-build}/tests/test_report

test_expect_success "--help prints usage to stdout" '
	"$LLMBENCH" compare --help >out && grep -q "usage: llmbench compare" out
'
test_expect_success "fixture store with two runs" '"$FIXTURE" --make-db "$TMP/f.db" --variant both'
test_expect_success "Markdown: one compact table, change, better/worse and Welch p" '
	"$LLMBENCH" compare --db "$TMP/f.db" golden-a golden-b >cmp.md &&
	test "$(grep -c "^| :---" cmp.md)" -eq 1 && test "$(wc -l <cmp.md)" -lt 100 &&
	grep -q "^| llama-f16 | concurrency=1 | TTFT p99 (ms) | 14.82 ± 0.735 | 18.32 ± 0.735 | +23.6% | ▼ worse | 0.042 |" cmp.md &&
	grep -q "^| llama-f16 | concurrency=4 | output tokens/s | 300.8 | 241.7 | -19.6% | ▼ worse | - |" cmp.md &&
	grep -q "^| llama-q4_0 | (backend-wide) | KL divergence (mean) | 0.021 | 0.022 | +5.3% | ▼ worse | - |" cmp.md
'
test_expect_success "direction per metric: the other way round, lower latency and higher throughput are better" '
	"$LLMBENCH" compare --db "$TMP/f.db" golden-b golden-a >rev.md &&
	grep -q "^| llama-f16 | concurrency=4 | output tokens/s | 241.7 | 300.8 | +24.4% | ▲ better | - |" rev.md &&
	grep -q "^| llama-f16 | concurrency=4 | TTFT p50 (ms) | 24.58 | 19.75 | -19.6% | ▲ better | - |" rev.md
'
test_expect_success "Markdown: rows of one run only are listed, one line per backend" '
	"$LLMBENCH" compare --db "$TMP/f.db" golden-a golden-b >cmp.md &&
	grep -q "^Only in A (golden-a):" cmp.md &&
	grep -q "^- falcon-q8_0: concurrency=1, concurrency=4, concurrency=16, backend-wide" cmp.md &&
	grep -q "^Only in B (golden-b):" cmp.md && grep -q "^- mistral-q4_k_m: .*backend-wide$" cmp.md
'
test_expect_success "unavailable in both runs is not a row (one line says so); --all shows every metric" '
	"$LLMBENCH" compare --db "$TMP/f.db" golden-a golden-b >cmp.md &&
	! grep -q "^| .* | goodput" cmp.md &&
	grep -q "figures unavailable in both runs left out (goodput (req/s): the workload sets no SLO)" cmp.md &&
	"$LLMBENCH" compare --db "$TMP/f.db" golden-a golden-b --all >all.md &&
	grep -q "| TTFT p90 (ms) |" all.md && ! grep -q "| TTFT p90 (ms) |" cmp.md
'
test_expect_success "JSON: every metric, typed, with verdict and Welch p" '
	"$LLMBENCH" compare --db "$TMP/f.db" golden-a golden-b --format json --out cmp.json &&
	python3 - cmp.json <<-PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["a"] == "golden-a" and d["b"] == "golden-b"
	r = [x for x in d["rows"] if x["backend"] == "llama-f16" and x["level"] == 1 and x["metric"] == "ttft_p99_ms"][0]
	assert r["verdict"] == "worse" and abs(r["welch_p"] - 0.0415) < 0.001 and r["a_reps"] == 2
	assert abs(r["b"] - r["a"] - r["diff"]) < 1e-9
	g = [x for x in d["rows"] if x["metric"] == "goodput"][0]
	assert g["a"] is None and "SLO" in g["a_note"] and g["verdict"] == "n/a"
	assert {"backend": "falcon-q8_0", "scope": "backend", "mode": None, "level": None} in d["only_in_a"]
	PY
'
test_expect_success "CSV: one row per metric, RFC 4180" '
	"$LLMBENCH" compare --db "$TMP/f.db" golden-a golden-b --format csv --out cmp.csv &&
	python3 - cmp.csv <<-PY
	import csv, sys
	rows = list(csv.DictReader(open(sys.argv[1], newline="")))
	r = [x for x in rows if x["backend"] == "llama-q4_0" and x["level"] == "4" and x["metric"] == "ttft_p99_ms"][0]
	assert abs(float(r["b"]) - float(r["a"]) - float(r["diff"])) < 1e-9
	assert abs(float(r["diff"]) / abs(float(r["a"])) * 100 - float(r["rel_diff_pct"])) < 1e-9
	assert any(x["match"] == "only_in_A" and x["backend"] == "falcon-q8_0" for x in rows)
	assert any(x["match"] == "only_in_B" and x["backend"] == "mistral-q4_k_m" for x in rows)
	PY
'
test_expect_code 2 "unknown run" '"$LLMBENCH" compare --db "$TMP/f.db" golden-a nope'
test_expect_code 2 "missing store" '"$LLMBENCH" compare --db "$TMP/none.db" a b'
test_expect_code 2 "one run only" '"$LLMBENCH" compare --db "$TMP/f.db" golden-a'
test_expect_code 2 "bad format" '"$LLMBENCH" compare --db "$TMP/f.db" golden-a golden-b --format xml'
test_expect_success "other SLOs: a caveat and no verdict on goodput; a failure category one run lacks is 0; descriptive figures have no verdict" '
	cp "$TMP/f.db" "$TMP/g.db" &&
	sqlite3 "$TMP/g.db" "UPDATE runs SET workload_json = json_set(workload_json, '"'"'$.slo'"'"', json('"'"'{\"ttft_ms\": 50}'"'"')) WHERE name = '"'"'golden-b'"'"';
		INSERT OR REPLACE INTO summaries (run_id, backend_id, level_id, metric, value, n, unit, provenance)
		SELECT l.run_id, l.backend_id, l.id, m.metric, m.value, NULL, m.unit, '"'"'harness'"'"'
		FROM levels l JOIN runs r ON r.id = l.run_id JOIN backends b ON b.id = l.backend_id,
		(SELECT '"'"'goodput'"'"' AS metric, 5.0 AS value, '"'"'req/s'"'"' AS unit
		 UNION ALL SELECT '"'"'itl_zero_gaps'"'"', 3.0, '"'"'gaps'"'"') m
		WHERE b.name = '"'"'llama-f16'"'"' AND l.idx = 0
		UNION ALL SELECT l.run_id, l.backend_id, l.id, '"'"'requests_failed_http_429'"'"', 2, NULL, '"'"'requests'"'"', '"'"'harness'"'"'
		FROM levels l JOIN runs r ON r.id = l.run_id JOIN backends b ON b.id = l.backend_id
		WHERE r.name = '"'"'golden-b'"'"' AND b.name = '"'"'llama-f16'"'"' AND l.idx = 0" &&
	sqlite3 "$TMP/g.db" "UPDATE summaries SET value = 9 WHERE metric IN ('"'"'goodput'"'"', '"'"'itl_zero_gaps'"'"') AND run_id = (SELECT id FROM runs WHERE name = '"'"'golden-b'"'"')" &&
	"$LLMBENCH" compare --db "$TMP/g.db" golden-a golden-b --all >slo.md && cat slo.md | grep -E "Caveat|goodput|zero|429" &&
	grep -q "^> \*\*Caveat\*\*: the runs. SLOs differ (A: none, B: {\"ttft_ms\":50})" slo.md &&
	grep -Eq "^\| llama-f16 \| concurrency=1 \| goodput \(req/s\) \| 5.00[^|]* \| 9.00[^|]* \| \+80.0% \| - \| - \|" slo.md &&
	grep -Eq "^\| llama-f16 \| concurrency=1 \| [^|]*zero[^|]* \| 3[^|]* \| 9[^|]* \| \+200.0% \| - \| - \|" slo.md &&
	grep -Eq "^\| llama-f16 \| concurrency=1 \| requests_failed_http_429 \| 0 \| 2[^|]* \| n/a \(A = 0\) \| ▼ worse \| - \|" slo.md
'
test_expect_success "a full stdout is exit 3 in every format; a failed compare leaves an older --out file" '
	for f in md csv json jsonl; do
		"$LLMBENCH" compare --db "$TMP/f.db" golden-a golden-b --format $f >/dev/full 2>err
		test $? -eq 3 && grep -q "cannot write" err || { echo "$f"; cat err; exit 1; }
	done &&
	echo precious >keep.md &&
	"$LLMBENCH" compare --db "$TMP/f.db" golden-a nosuch --out keep.md 2>err; test $? -eq 2 &&
	test "$(cat keep.md)" = precious &&
	"$LLMBENCH" compare --db "$TMP/f.db" golden-a golden-b --out keep.md && grep -q "^| :---" keep.md
'
test_expect_success "levels pair by mode and value, not position: [1, 8] against [2, 1, 8]" '
	cp "$TMP/f.db" "$TMP/shift.db" &&
	sqlite3 "$TMP/shift.db" "UPDATE levels SET idx = idx + 1 WHERE run_id = (SELECT id FROM runs WHERE name = '"'"'golden-b'"'"')" &&
	"$LLMBENCH" compare --db "$TMP/shift.db" golden-a golden-b >shift.md &&
	"$LLMBENCH" compare --db "$TMP/f.db" golden-a golden-b >plain.md && cmp shift.md plain.md &&
	"$LLMBENCH" gate --db "$TMP/shift.db" --baseline golden-a --candidate golden-b --ignore-host >g.out 2>&1;
	! grep -q "only: llama-f16.*concurrency=1" g.out
'
test_done
