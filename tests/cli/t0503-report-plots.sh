#!/usr/bin/env bash
# report plots: every gnuplot script runs and gives a non-empty PNG and SVG; plots without
# data are skipped with a reason; the HTML page is self-contained.
. "$(dirname "$0")/../lib.sh"

FIXTURE=$LB_TOP/${LB_BUILD:-build}/tests/test_report

test_expect_success "fixture store" '"$FIXTURE" --make-db "$TMP/f.db" --variant a'
test_expect_success "full report prints the path of index.html" '
	"$LLMBENCH" report --db "$TMP/f.db" --out "$TMP/r" >out 2>err && grep -qx "$TMP/r/index.html" out
'
test_expect_success "eleven plots, each with .dat, .gp and non-empty .png and .svg" '
	n=0
	for gp in "$TMP"/r/plots/*.gp; do
		b=${gp%.gp}
		test -s "$b.dat" && test -s "$b.png" && test -s "$b.svg" || { echo "missing for $b"; exit 1; }
		n=$((n + 1))
	done
	test $n -eq 11 || { echo "$n plots"; exit 1; }
'
test_expect_success "every kept script re-runs in gnuplot on its own (png and svg)" '
	cd "$TMP/r/plots" && for gp in *.gp; do
		b=${gp%.gp}
		rm -f "$b.png" "$b.svg"
		gnuplot -e "fmt='"'"'png'"'"'" "$gp" && gnuplot -e "fmt='"'"'svg'"'"'" "$gp" || exit 1
		test -s "$b.png" && test -s "$b.svg" || { echo "$b not redrawn"; exit 1; }
		test "$(head -c 4 "$b.png" | tail -c 3)" = PNG || exit 1
		grep -q "<svg" "$b.svg" || exit 1
	done
'
test_expect_success "the HTML page is self-contained: inline SVG, no script, no remote resource" '
	h="$TMP/r/index.html"
	test "$(grep -c "<svg" "$h")" -eq 11 &&
	! grep -qi "<script" "$h" && ! grep -qi "<link" "$h" &&
	! grep -Eqi "(src|href)=\"(https?:)?//" "$h" &&
	grep -q "unavailable" "$h" && grep -q "INVALID" "$h"
'
test_expect_success "answer sheets in DIR/sheets are linked" '
	mkdir -p "$TMP/r/sheets" && echo "# sheet" >"$TMP/r/sheets/qa-llama.md" &&
	"$LLMBENCH" report --db "$TMP/f.db" --out "$TMP/r" --format html >/dev/null &&
	grep -q "href=\"sheets/qa-llama.md\"" "$TMP/r/index.html"
'
test_expect_success "plots without data are skipped with a reason, not drawn empty" '
	"$FIXTURE" --make-db "$TMP/big.db" --requests 300 &&
	"$LLMBENCH" report --db "$TMP/big.db" --out "$TMP/b" --format md,svg >/dev/null 2>err &&
	grep -q "Answer quality by backend: not drawn: no QA" "$TMP/b/report.md" &&
	grep -q "Power over time: not drawn: no power samples" "$TMP/b/report.md" &&
	! test -e "$TMP/b/plots/quality.svg" && test -s "$TMP/b/plots/ttft_cdf.svg"
'
test_expect_success "TTFT CDF x axis spans the data (50 +- 1 ms is not a line at the edge)" '
	"$FIXTURE" --make-db "$TMP/plain.db" --variant plain &&
	"$LLMBENCH" report --db "$TMP/plain.db" --out "$TMP/p" --format md,png >/dev/null 2>&1 &&
	lo=$(sed -n "s/^set xrange \[\([0-9.]*\):\([0-9.]*\)\]$/\1/p" "$TMP/p/plots/ttft_cdf.gp") &&
	hi=$(sed -n "s/^set xrange \[\([0-9.]*\):\([0-9.]*\)\]$/\2/p" "$TMP/p/plots/ttft_cdf.gp") &&
	awk -v lo="$lo" -v hi="$hi" "BEGIN { exit !(lo > 45 && lo < 49 && hi > 51 && hi < 55) }" ||
	{ echo "xrange [$lo:$hi]"; exit 1; }
'
test_expect_success "throughput vs load: ticks at the levels only (1 and 2, never 0.5 or 1.5)" '
	grep -qx "set xtics (\"1\" 1, \"2\" 2)" "$TMP/p/plots/throughput_load.gp" &&
	test -s "$TMP/p/plots/throughput_load.png" &&
	grep -qx "set xtics (\"1\" 1, \"4\" 4, \"16\" 16)" "$TMP/r/plots/throughput_load.gp" &&
	grep -qx "set logscale x 2" "$TMP/r/plots/throughput_load.gp"
'
test_expect_success "no quantization labels: no tokens/s-by-quantization plot, with the reason" '
	grep -q "Tokens/s by quantization level: not drawn: no backend has a quantization label" \
		"$TMP/p/report.md" && ! test -e "$TMP/p/plots/toks_by_quant.png" &&
	test -s "$TMP/r/plots/toks_by_quant.png" &&
	# falcon-q8_0 is invalid at concurrency 16: its bar is the valid peak (concurrency 4)
	grep -q "^Q8_0	?	?	421.053	0$" "$TMP/r/plots/toks_by_quant.dat"
'
test_expect_success "the page answers first: headline, decision view (Pareto plot), plots, tables, runs" '
	h="$TMP/r/index.html" &&
	hl=$(grep -n "id=\"headline\"" "$h" | head -1 | cut -d: -f1) &&
	dv=$(grep -n "id=\"decision\"" "$h" | head -1 | cut -d: -f1) &&
	pa=$(grep -n "id=\"plot-pareto\"" "$h" | head -1 | cut -d: -f1) &&
	tb=$(grep -n "id=\"tables\"" "$h" | tail -1 | cut -d: -f1) &&
	ru=$(grep -n "id=\"runs\"" "$h" | tail -1 | cut -d: -f1) &&
	test "$hl" -lt "$dv" && test "$dv" -lt "$pa" && test "$pa" -lt "$tb" && test "$tb" -lt "$ru" &&
	grep -q "falcon-q8_0 concurrency=16</span>: p99 schedule lag 120 ms exceeds 50 ms" "$h" &&
	grep -q "llama: Q4_0 is the smallest quantization within KLD &lt;= 0.05" "$h" &&
	grep -q "class=\"num best\"" "$h" && grep -q "class=\"num worst\"" "$h"
'
test_expect_success "--max-kld sets the bound; a bad value is a one-line usage error" '
	"$LLMBENCH" report --db "$TMP/f.db" --out "$TMP/k" --format md --max-kld 0.018 >/dev/null &&
	grep -q "llama: no quantization is within KLD <= 0.018" "$TMP/k/report.md" &&
	{ "$LLMBENCH" report --db "$TMP/f.db" --out "$TMP/k" --max-kld -1 2>err; test $? -eq 2; } &&
	test "$(wc -l <err)" -le 2 && grep -q "max-kld: expected a number above 0" err
'
test_expect_success "no power measured: one energy line in the tables, not one per figure" '
	! grep -q "^- .*: unavailable: the workload has no power source" "$TMP/p/report.md" &&
	grep -q "^- energy and power (2 figures): not measured: the workload has no power source" \
		"$TMP/p/report.md" &&
	grep -q "^Energy: not measured" "$TMP/p/report.md"
'
test_expect_success "report.json says the same first: headline figures, invalid levels, decision sentences" '
	"$LLMBENCH" report --db "$TMP/f.db" --out "$TMP/j" --format json >/dev/null &&
	python3 - "$TMP/j/report.json" <<-PY
	import json, sys
	h = json.load(open(sys.argv[1]))["headline"]
	b = {x["label"]: x for x in h["backends"]}
	assert b["llama-q4_0"]["figures"]["kld"] == 0.0209, b["llama-q4_0"]
	assert "output_tokens_per_s" in b["llama-q4_0"]["best"]
	assert b["llama-f16"]["figures"]["kld"] is None
	assert h["invalid_levels"] == [{"backend": "falcon-q8_0", "level": "concurrency=16",
		"reason": "p99 schedule lag 120 ms exceeds 50 ms"}], h["invalid_levels"]
	d = h["decision"]
	assert any(s.startswith("llama: Q4_0 is the smallest quantization within KLD <= 0.05")
		for s in d["sentences"]), d["sentences"]
	assert [p["base"] for p in d["points"] if p["label"] == "llama-f16"] == [True]
	PY
'
test_expect_success "names reach gnuplot as text: backquotes and @macros in them run nothing" '
	cp "$TMP/plain.db" "$TMP/q.db" &&
	sqlite3 "$TMP/q.db" "UPDATE backends SET name = name || '"'"' \`touch $TMP/pwned-b\` @GPVAL_TERM it'"''"'s'"'"';
		UPDATE runs SET name = '"'"'r\`touch $TMP/pwned-r\`'"'"'" &&
	run=$(sqlite3 "$TMP/q.db" "SELECT name FROM runs LIMIT 1") &&
	"$LLMBENCH" report --db "$TMP/q.db" --run "$run" --out "$TMP/q" --format md,svg >/dev/null 2>err &&
	! test -e "$TMP/pwned-b" && ! test -e "$TMP/pwned-r" &&
	grep -q "touch $TMP/pwned-b" "$TMP/q/plots/ttft_cdf.svg" &&
	grep -q "@GPVAL_TERM it.*s" "$TMP/q/plots/ttft_cdf.svg"
'
test_done
