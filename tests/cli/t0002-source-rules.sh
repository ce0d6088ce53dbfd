#!/usr/bin/env bash
# scripts/check-src.sh, the house rules the compiler cannot see (docs/DESIGN.md "Layers"): the
# tree as committed passes; a lower layer including a higher one, <sqlite3.h> or SQL text
# outside the store and the report queries, and a banned function each fail, naming the file
# and line.
. "$(dirname "$0")/../lib.sh"

CHECK=$LB_TOP/scripts/check-src.sh

test_expect_success 'the tree passes the source rules' '
	bash "$CHECK" "$LB_TOP"
'

mini() { # a minimal tree in $TMP/$1 with one file $2 holding $3
	rm -rf "$TMP/$1" && mkdir -p "$TMP/$1"/{base,metrics,backends,datasets,reports,harness} &&
	mkdir -p "$TMP/$1/$(dirname "$2")" && printf "%s\n" "$3" >"$TMP/$1/$2"
}

test_expect_success 'a clean minimal tree passes' '
	mini ok metrics/a.c "#include \"../base/error.h\"" && bash "$CHECK" "$TMP/ok"
'

test_expect_code 1 'a deliberate bad include (metrics -> harness) fails, naming file and line' '
	mini up metrics/level.h "#include \"../harness/workload.h\"" &&
	bash "$CHECK" "$TMP/up" >out; rc=$?; cat out;
	grep -q "^metrics/level.h:1: layer: metrics/ may not include harness/" out || exit 9; exit $rc
'

test_expect_code 1 'base includes nothing of the project' '
	mini b base/x.c "#include \"../metrics/stats.h\"" && bash "$CHECK" "$TMP/b"
'

test_expect_code 1 'reports may not include backends' '
	mini r reports/x.c "#include \"../backends/backend.h\"" && bash "$CHECK" "$TMP/r"
'

test_expect_code 1 'sqlite3.h outside the store' '
	mini s reports/q.c "#include <sqlite3.h>" && bash "$CHECK" "$TMP/s" >out; rc=$?;
	grep -q "sqlite3.h> outside metrics/store" out || exit 9; exit $rc
'

test_expect_code 1 'SQL text in a verb' '
	mini q harness/cmd_x.c "static const char *q = \"SELECT id FROM runs\";" &&
	bash "$CHECK" "$TMP/q" >out; rc=$?;
	grep -q "^harness/cmd_x.c:1: SQL text outside the store" out || exit 9; exit $rc
'

test_expect_code 1 'a banned function' '
	mini f datasets/x.c "	n = atoi(s);" && bash "$CHECK" "$TMP/f" >out; rc=$?;
	grep -q "^datasets/x.c:1: banned function" out || exit 9; exit $rc
'

test_expect_success 'a comment naming a banned function is fine' '
	mini c datasets/x.c " * never atoi(s): strtol with checks" && bash "$CHECK" "$TMP/c"
'

test_done
