#!/usr/bin/env bash
# One CLI: the dispatcher gives --db (default llmbench.db) to every verb with a store, read-only
# verbs leave no -wal/-shm files, a --db in a missing folder is created by writers and named by
# readers, errors are one line with "did you mean" for verbs, options and workload keys,
# report --out creates its folders, runs shows ms durations, runs and report show a killed run as 'died', and the
# run's level table prints long labels whole.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 5 --itl-ms 1 --output-tokens 4 || exit 1
W=$LB_TOP/workloads/smoke.json
run_w() { "$LLMBENCH" run "$W" --no-progress --set backends.0.base_url=http://127.0.0.1:$PORT/v1 \
	--set load.requests=6 --set load.warmup=0 --set dataset.limit=6 "$@"; }

test_expect_code 2 'a mistyped verb: one line with did you mean' '
	"$LLMBENCH" runz 2>err; rc=$?; cat err; test $(wc -l <err) -eq 1 &&
	grep -q "did you mean .run.?" err && exit $rc
'
test_expect_code 2 'a mistyped option of run: one line, did you mean' '
	"$LLMBENCH" run "$W" --keep-txt 2>err; rc=$?; cat err; test $(wc -l <err) -eq 1 &&
	grep -q "unknown option .--keep-txt.; did you mean .--keep-text.?" err && exit $rc
'
test_expect_code 2 'bench-model and run: an option without its value is one line' '
	"$LLMBENCH" run "$W" --drain 2>err; rc=$?; cat err; test $(wc -l <err) -eq 1 &&
	grep -q "needs a value" err && exit $rc
'
test_expect_code 2 'a mistyped workload key: did you mean' '
	run_w --set load.levle=1 --db t.db 2>err; rc=$?; cat err;
	grep -q "unknown key .levle. in load (valid: .*); did you mean .levels.?" err && exit $rc
'
test_expect_code 2 'generation.temprature suggests temperature' '
	run_w --set generation.temprature=0 --db t.db 2>err; rc=$?; cat err;
	grep -q "did you mean .temperature.?" err && exit $rc
'
test_expect_code 2 'compare, report and gate default --db to llmbench.db (missing here: named)' '
	for v in "compare a b" "report --out r" "gate --baseline a --candidate b" "runs" "export --run a"; do
		$LLMBENCH $v 2>err; rc=$?; cat err; test $rc -eq 2 || exit 1
		grep -q "cannot open .llmbench.db.: no such file" err || exit 1
	done; exit 2
'
test_expect_success 'a writer creates the store folder of --db' '
	run_w --db "deep/er/s.db" --name one >out 2>err && test -s deep/er/s.db
'
test_expect_success 'no power notes when the workload asks for no power' '
	! grep -i "power" err
'
test_expect_success 'readers leave no -wal/-shm files' '
	rm -f deep/er/s.db-wal deep/er/s.db-shm &&
	"$LLMBENCH" runs --db deep/er/s.db >/dev/null &&
	"$LLMBENCH" export --db=deep/er/s.db --run one >/dev/null &&
	"$LLMBENCH" compare --db deep/er/s.db one one >/dev/null &&
	ls deep/er && test ! -e deep/er/s.db-wal && test ! -e deep/er/s.db-shm
'
test_expect_code 2 'a reader with --db in a missing folder names the path' '
	"$LLMBENCH" runs --db nope/x.db 2>err; rc=$?; cat err; grep -q "nope/x.db" err &&
	test ! -e nope && exit $rc
'
test_expect_success 'report --out a/b/c creates the folders' '
	"$LLMBENCH" report --db deep/er/s.db --out a/b/c --format md >/dev/null && test -s a/b/c/report.md
'
test_expect_success 'runs: a sub-second run has a real duration (ms stamps)' '
	"$LLMBENCH" runs --db deep/er/s.db --format json >runs.json &&
	python3 -c "
import json; r = json.load(open(\"runs.json\"))[0]
assert r[\"started_at\"][19] == \".\", r
assert 0 < r[\"duration_s\"] < 60 and r[\"duration_s\"] != round(r[\"duration_s\"]), r
assert isinstance(r[\"pid\"], int), r"
'
test_expect_success 'runs --format md, csv, jsonl' '
	"$LLMBENCH" runs --db deep/er/s.db --format md | grep -q "^| one | done |" &&
	"$LLMBENCH" runs --db deep/er/s.db --format csv | grep -q "^one,done," &&
	"$LLMBENCH" runs --db deep/er/s.db --format jsonl | python3 -c "import json,sys; [json.loads(l) for l in sys.stdin]"
'
test_expect_success 'a level shorter than 0.2 s stores no busy share: unavailable, too short to judge' '
	test "$(sqlite3 deep/er/s.db "SELECT count(*) FROM summaries s JOIN levels l ON l.id = s.level_id
		WHERE s.metric = '"'"'harness_busy_pct'"'"' AND s.value IS NULL AND s.note LIKE '"'"'%too short to judge%'"'"'")" -ge 1
'
test_expect_success 'export --format md' '
	"$LLMBENCH" export --db deep/er/s.db --run one --format md >md &&
	head -1 md | grep -q "^| request_id | run |" && test $(grep -c "| one |" md) -eq 12
'
test_expect_success 'a run killed with SIGKILL is shown as died' '
	"$LLMBENCH" run "$W" --no-progress --set backends.0.base_url=http://127.0.0.1:$PORT/v1 \
		--db k.db --name killed --set load.requests=100000 --set load.levels=[1] \
		>/dev/null 2>&1 & pid=$!
	for i in $(seq 100); do
		"$LLMBENCH" runs --db k.db 2>/dev/null | grep -q "^killed  *running" && break; sleep 0.1
	done
	kill -9 $pid; wait $pid
	"$LLMBENCH" runs --db k.db >out; cat out; grep -q "^killed  *died " out
'
test_expect_success 'report and gate on the died run say it died, as runs does' '
	"$LLMBENCH" report --db k.db --run killed --out kr --format md,json >/dev/null &&
	grep -q "^Run killed: died: its process (pid [0-9]*) is gone from this host" kr/report.md &&
	grep -q "^| killed | smoke | died |" kr/report.md &&
	python3 -c "import json, sys; assert json.load(open(\"kr/report.json\"))[\"runs\"][0][\"status\"] == \"died\""
'
test_expect_success 'the level table prints concurrency=2048 whole' '
	run_w --db l.db --set load.levels=[2048] --set load.requests=2 >out 2>&1; cat out;
	grep -q "concurrency=2048 " out
'
test_expect_success 'compare: --run A --run B as the positional form; --format json and jsonl' '
	run_w --db deep/er/s.db --name two >/dev/null 2>&1 &&
	"$LLMBENCH" compare --db deep/er/s.db --run one --run two >a.md &&
	"$LLMBENCH" compare --db deep/er/s.db one two >b.md && cmp a.md b.md &&
	"$LLMBENCH" compare --db deep/er/s.db --run one --run two --format json >c.json &&
	"$LLMBENCH" compare --db deep/er/s.db --run one --run two --format jsonl >c.jsonl &&
	"$LLMBENCH" compare --db deep/er/s.db --run one --run two --format csv >c.csv &&
	python3 -c "
import csv, json
rows = list(csv.DictReader(open(\"c.csv\")))
j = json.load(open(\"c.json\")); l = [json.loads(x) for x in open(\"c.jsonl\")]
# jsonl: the csv rows as objects; json: every metric, typed, with better/worse and p
assert len(l) == len(rows) > 10 and all(set(r) == set(rows[0]) for r in l), (len(l), len(rows))
assert l[0][\"metric\"] == rows[0][\"metric\"]
m = [r for r in j[\"rows\"] if isinstance(r[\"a\"], (int, float))]
assert j[\"a\"] == \"one\" and j[\"b\"] == \"two\" and len(m) > 10, (j.get(\"a\"), len(m))
assert all(r[\"verdict\"] in (\"better\", \"worse\", \"same\", \"neutral\", \"n/a\") for r in j[\"rows\"])"
'
test_expect_success 'gate: --run BASELINE --run CANDIDATE as --baseline/--candidate' '
	"$LLMBENCH" gate --db deep/er/s.db --run one --run two >g1 2>&1; r1=$?
	"$LLMBENCH" gate --db deep/er/s.db --baseline one --candidate two >g2 2>&1; r2=$?
	test $r1 -eq $r2 && cmp g1 g2
'
test_expect_success 'gate --format md prints the Markdown summary on stdout' '
	"$LLMBENCH" gate --db deep/er/s.db --run one --run two --format md >g.md 2>&1;
	cat g.md; grep -q "^|" g.md
'
test_expect_success 'power_requested is stored: 0 for a workload without a power section' '
	test "$(sqlite3 deep/er/s.db "SELECT value FROM summaries s JOIN runs r ON r.id = s.run_id
		WHERE r.name = '"'one'"' AND metric = '"'power_requested'"'")" = 0.0
'
test_expect_code 2 'sim, model and perplexity: one line, did you mean' '
	for v in "sim --ttftms 3" "model make --arhc llama" "perplexity --modle x"; do
		$LLMBENCH $v 2>err; rc=$?; cat err; test $rc -eq 2 && test $(wc -l <err) -eq 1 &&
		grep -q "did you mean" err || exit 1
	done; exit 2
'
test_expect_success 'a writer given a read-only store, or a folder it cannot write in, says which (exit 2)' '
	if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
		echo "not run: needs root to become another user (setpriv)"; exit 0
	fi
	mkdir -p ro && cp deep/er/s.db ro/s.db && chmod 755 ro && chmod 644 ro/s.db &&
	chmod o+x "$TMP" && cp "$W" w.json && cp "$LB_TOP/datasets/prompts/llm-questions.txt" p.txt &&
	chmod o+r w.json p.txt &&
	# nobody, who may search any folder to run the binary (the clone may be 0700) but write
	# only where the permissions say; access(2) ignores that capability, so what it reads is
	# in $TMP, made searchable
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=+dac_read_search --ambient-caps=+dac_read_search "$LLMBENCH" run \
		"$TMP/w.json" --set dataset.path="$TMP/p.txt" --no-progress "$@"; }
	as_nobody --db "$TMP/ro/new.db" 2>err; test $? -eq 2 && grep -q "cannot write in the store.s folder" err &&
	as_nobody --db "$TMP/ro/s.db" 2>err; test $? -eq 2 && grep -q "cannot write to the store .*Permission denied" err
'
test_done
