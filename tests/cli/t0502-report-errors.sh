#!/usr/bin/env bash
# report: --help, usage errors, missing store, unknown run, missing gnuplot.
. "$(dirname "$0")/../lib.sh"

FIXTURE=$LB_TOP/${LB_BUILD:-build}/tests/test_report

test_expect_success "--help prints usage to stdout" '
	"$LLMBENCH" report --help >out && grep -q "usage: llmbench report" out
'
test_expect_success "fixture store" '"$FIXTURE" --make-db "$TMP/f.db" --variant both'
test_expect_code 2 "missing --db" '"$LLMBENCH" report --out "$TMP/o"'
test_expect_code 2 "missing --out" '"$LLMBENCH" report --db "$TMP/f.db"'
test_expect_code 2 "missing store file" '
	"$LLMBENCH" report --db "$TMP/nope.db" --out "$TMP/o" 2>err; rc=$?; grep -q "nope.db" err; exit $rc
'
test_expect_code 2 "unknown run names the run" '
	"$LLMBENCH" report --db "$TMP/f.db" --run golden-z --out "$TMP/o" 2>err; rc=$?
	grep -q "golden-z" err || rc=99; exit $rc
'
test_expect_code 2 "unknown format" '
	"$LLMBENCH" report --db "$TMP/f.db" --out "$TMP/o" --format md,pdf 2>err; rc=$?
	grep -q "pdf" err || rc=99; exit $rc
'
test_expect_code 2 "gnuplot missing: the error names the package" '
	LLMBENCH_GNUPLOT=/nonexistent/gnuplot "$LLMBENCH" report --db "$TMP/f.db" --out "$TMP/o" \
		--format png 2>err; rc=$?
	grep -q "gnuplot-nox" err || rc=99; exit $rc
'
test_expect_success "without gnuplot, tables still render when no image is asked for" '
	LLMBENCH_GNUPLOT=/nonexistent/gnuplot "$LLMBENCH" report --db "$TMP/f.db" --out "$TMP/o2" \
		--format md,csv 2>err && test -s "$TMP/o2/report.md" && test -s "$TMP/o2/report.csv"
'
test_expect_success "default run is the latest one" '
	"$LLMBENCH" report --db "$TMP/f.db" --out "$TMP/o3" --format md >/dev/null &&
	grep -q "^# llmbench report: golden-b" "$TMP/o3/report.md"
'
test_expect_success "two runs in one report" '
	"$LLMBENCH" report --db "$TMP/f.db" --run golden-a --run golden-b --out "$TMP/o4" --format md,csv \
		>/dev/null && grep -q "golden-a, golden-b" "$TMP/o4/report.md" &&
	grep -q "^golden-b,mistral" "$TMP/o4/report.csv"
'
test_expect_success 'a refused report makes no --out folder; --run twice and both quality bounds are usage errors' '
	"$LLMBENCH" report --db "$TMP/f.db" --run nosuch --out "$TMP/nodir" 2>err; test $? -eq 2 &&
	grep -q "no run .nosuch." err && ! test -e "$TMP/nodir" &&
	r=$(sqlite3 "$TMP/f.db" "SELECT name FROM runs LIMIT 1") &&
	"$LLMBENCH" report --db "$TMP/f.db" --run "$r" --run "$r" --out "$TMP/nodir" 2>err; test $? -eq 2 &&
	grep -q "is given twice" err &&
	"$LLMBENCH" report --db "$TMP/f.db" --out "$TMP/nodir" --max-kld 0.1 --max-ppl-ratio 1.1 2>err; test $? -eq 2 &&
	grep -q "not both" err && ! test -e "$TMP/nodir"
'
test_done
