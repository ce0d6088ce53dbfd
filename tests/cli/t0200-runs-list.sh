#!/usr/bin/env bash
# `llmbench runs`: the table and --json over a store written by metrics/store.c itself (the
# fixture of tests/unit/test_store.c: run 'fx' done with 6 ok / 2 failed measured requests and
# 2 warm-up ones, 'fx-empty' interrupted, 'fx-running' never ended); the default store path; a
# missing store; a store from a newer llmbench; --help.
. "$(dirname "$0")/../lib.sh"

case ${LB_BUILD:-build} in /*) B=${LB_BUILD} ;; *) B=$LB_TOP/${LB_BUILD:-build} ;; esac
FIXTURE=$B/tests/test_store

test_expect_success "fixture store written by $FIXTURE (make unit)" '
	LB_STORE_FIXTURE="$TMP/fx.db" "$FIXTURE" && test -s "$TMP/fx.db"
'

test_expect_success '--help prints the usage to stdout' '
	"$LLMBENCH" runs --help >out 2>err && grep -q "^usage: llmbench runs" out &&
	grep -q "llmbench.db" out && test ! -s err
'

test_expect_success 'table: a header and one row per run, oldest first' '
	"$LLMBENCH" runs --db fx.db >out && cat out &&
	head -n 1 out | grep -q "^NAME  *STATUS  *STARTED (UTC)  *DURATION  *WORKLOAD  *BACKENDS  *OK  *FAILED$" &&
	test $(wc -l <out) -eq 4 &&
	sed -n 2p out | grep -Eq "^fx +done +20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:]{8} +[0-9.]+m?s +fixture +sim-a +6 +2$" &&
	sed -n 3p out | grep -Eq "^fx-empty +interrupted .* fixture +- +0 +0$" &&
	sed -n 4p out | grep -Eq "^fx-running +running .* - +fixture +- +0 +0$"
'

test_expect_success 'default store is llmbench.db in the current directory' '
	mkdir -p here && cp fx.db here/llmbench.db && (cd here && "$LLMBENCH" runs >../out) &&
	grep -q "^fx-empty " out
'

test_expect_success '--json: an array with names, statuses, backends and request counts' '
	"$LLMBENCH" runs --db fx.db --json >out.json &&
	python3 - out.json <<-PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert [r["name"] for r in d] == ["fx", "fx-empty", "fx-running"], d
	fx, empty, running = d
	assert fx["status"] == "done" and fx["backends"] == ["sim-a"], fx
	assert (fx["requests_ok"], fx["requests_failed"], fx["requests_warmup"]) == (6, 2, 2), fx
	assert fx["duration_s"] >= 0 and fx["workload"] == "fixture", fx
	assert fx["started_at"].endswith("Z") and "T" in fx["started_at"], fx
	assert empty["status"] == "interrupted" and empty["note"] == "stopped by a signal", empty
	assert running["ended_at"] is None and running["duration_s"] is None, running
	assert running["backends"] == [], running
	PY
'

test_expect_success 'a missing store: exit 2 naming the path, nothing created' '
	"$LLMBENCH" runs --db none.db >out 2>err; test $? -eq 2 &&
	grep -q "cannot open .none.db.: no such file" err && test ! -e none.db
'

test_expect_success 'a folder given as the store: exit 2 saying so, for readers and writers' '
	mkdir -p dir.db &&
	for v in runs "export --run x" "report --out rep" "compare --run a --run b"; do
		"$LLMBENCH" $v --db dir.db 2>err; test $? -eq 2 && test "$(wc -l <err)" = 1 &&
		grep -q "cannot open .dir.db.: it is a folder" err || return 1
	done &&
	"$LLMBENCH" bench --model m --port 1 --num-prompts 1 --db dir.db 2>err; test $? -eq 2 &&
	grep -q "it is a folder" err && test ! -e .llmbench-cache && test -z "$(ls -A dir.db)"
'

test_expect_success 'default store missing: exit 2 naming llmbench.db' '
	mkdir -p empty && (cd empty && "$LLMBENCH" runs 2>../err; test $? -eq 2) &&
	grep -q "llmbench.db" err
'

test_expect_success 'a store from a newer llmbench: exit 2 saying so' '
	cp fx.db newer.db &&
	python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE meta SET value = 99 WHERE key = \x27schema_version\x27\"); c.commit()" newer.db &&
	"$LLMBENCH" runs --db newer.db 2>err; test $? -eq 2 && grep -q "schema version 99 is newer" err
'

test_expect_success 'a file that is not a store: exit 2' '
	echo "hello, this is not a database at all, just some text in a file......................................." >text.db &&
	"$LLMBENCH" runs --db text.db 2>err; test $? -eq 2 && grep -q "text.db" err
'

test_expect_success 'a store with no runs: a message, or [] with --json' '
	cp fx.db norun.db &&
	python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"DELETE FROM runs\"); c.commit()" norun.db &&
	"$LLMBENCH" runs --db norun.db >out && grep -q "^no runs in .norun.db.$" out &&
	test "$("$LLMBENCH" runs --db norun.db --json)" = "[]" &&
	test "$("$LLMBENCH" runs --db norun.db --format csv)" = "name,status,started_at,ended_at,duration_s,workload,backends,requests_ok,requests_failed,requests_warmup,host,pid,version,workload_path,note" &&
	test "$("$LLMBENCH" runs --db norun.db --format md | wc -l)" -eq 2
'
test_expect_success 'csv carries the note and workload path; md escapes | and line breaks in names' '
	cp fx.db odd.db &&
	sqlite3 odd.db "UPDATE runs SET name = '"'"'pipe|na'"'"' || char(10) || '"'"'me'"'"', note = '"'"'stopped, by a signal'"'"' WHERE id = (SELECT min(id) FROM runs)" &&
	"$LLMBENCH" runs --db odd.db --format csv >o.csv &&
	python3 -c "import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); assert r[0][\"note\"] == \"stopped, by a signal\" and \"workload_path\" in r[0], r[0]" o.csv &&
	"$LLMBENCH" runs --db odd.db --format md >o.md &&
	grep -q "^| pipe\\|na me | " o.md && test "$(sed -n 3p o.md | sed "s/\\\\|//g" | tr -cd "|" | wc -c)" -eq 9
'

test_expect_code 2 'an unknown option is a usage error' '"$LLMBENCH" runs --db fx.db --bogus'
test_expect_code 2 '--db without a value is a usage error' '"$LLMBENCH" runs --db'

test_done
