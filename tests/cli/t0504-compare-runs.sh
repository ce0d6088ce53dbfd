#!/usr/bin/env bash
# compare: two crafted runs matched by backend and level; unmatched rows listed; errors.
. "$(dirname "$0")/../lib.sh"

FIXTURE=$LB_TOP/${LB_BUILD:-build}/tests/test_report

test_expect_success "--help prints usage to stdout" '
	"$LLMBENCH" compare --help >out && grep -q "usage: llmbench compare" out
'
test_expect_success "fixture store with two runs" '"$FIXTURE" --make-db "$TMP/f.db" --variant both'
test_expect_success "Markdown: matched rows with absolute and relative differences" '
	"$LLMBENCH" compare --db "$TMP/f.db" golden-a golden-b >cmp.md &&
	grep -q "^### llama-f16 · concurrency=1" cmp.md &&
	grep -q "^| TTFT mean (ms) | 11.40 ± 0.566 | 14.09 ± 0.566 | +2.69 | +23.6% |" cmp.md
'
test_expect_success "Markdown: rows of one run only are listed" '
	"$LLMBENCH" compare --db "$TMP/f.db" golden-a golden-b >cmp.md &&
	grep -q "^## Only in A (golden-a)" cmp.md && grep -q "^- falcon-q8_0 · concurrency=4" cmp.md &&
	grep -q "^## Only in B (golden-b)" cmp.md && grep -q "^- mistral-q4_k_m (backend-wide)" cmp.md
'
test_expect_success "unavailable on either side is not a difference" '
	"$LLMBENCH" compare --db "$TMP/f.db" golden-a golden-b >cmp.md &&
	grep -q "^| goodput (req/s) | unavailable | unavailable | - | unavailable |" cmp.md
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
test_done
