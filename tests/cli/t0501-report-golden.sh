#!/usr/bin/env bash
# report and compare writers against the golden files (byte for byte): CSV, Markdown, JSON,
# JSONL and the compare outputs of the fixture store. `make golden` regenerates them.
. "$(dirname "$0")/../lib.sh"

FIXTURE=$LB_TOP/${LB_BUILD:-build}/tests/test_report

test_expect_success "the fixture builder exists (make unit)" '
	test -x "$FIXTURE"
'
test_expect_success "regenerate into a temporary folder" '
	LB_BUILD=${LB_BUILD:-build} bash "$LB_TOP/tests/golden/regen.sh" "$TMP/gen" >/dev/null
'
for f in report/report.csv report/report.md report/report.json report/requests.jsonl \
	compare/compare.md compare/compare.csv; do
	test_expect_success "$f matches tests/golden/$f" "
		cmp '$LB_TOP/tests/golden/$f' '$TMP/gen/$f' ||
			{ diff -u '$LB_TOP/tests/golden/$f' '$TMP/gen/$f' | head -40; false; }
	"
done
test_expect_success "CSV rows end in LF; unavailable figures are empty with the reason in <metric>.note" '
	! grep -q "\$(printf "\\r")" "$TMP/gen/report/report.csv" &&
	python3 - "$TMP/gen/report/report.csv" <<-PY
	import csv, sys
	rows = list(csv.DictReader(open(sys.argv[1], newline="")))
	lv = [r for r in rows if r["scope"] == "level"]
	assert all(r["goodput"] == "" for r in lv), "goodput"
	assert all(r["goodput.note"] == "unavailable: the workload sets no SLO" for r in lv), "note"
	assert rows[0]["ttft_mean_ms.sd"] != "", "sd over repetitions"
	PY
'
test_expect_success "JSON carries vLLM key names beside llmbench names" '
	python3 - "$TMP/gen/report/report.json" <<-PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	r = [x for x in d["rows"] if x["scope"] == "level"][0]
	for k in ("mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "p99_tpot_ms",
	          "mean_itl_ms", "mean_e2el_ms", "request_throughput", "output_throughput",
	          "total_token_throughput", "completed"):
	    assert k in r["vllm"], k
	assert r["vllm"]["mean_ttft_ms"] == r["metrics"]["ttft_mean_ms"]["value"]
	assert r["vllm"]["request_goodput"] is None
	assert r["metrics"]["goodput"]["value"] is None and "SLO" in r["metrics"]["goodput"]["note"]
	PY
'
test_done
