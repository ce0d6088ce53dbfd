#!/usr/bin/env bash
# `llmbench run` refuses a bad workload before sending anything: exit 2, and the message names
# the file, the field and what is expected (docs/workload.md).
. "$(dirname "$0")/../lib.sh"

W=$LB_TOP/workloads/smoke.json
run_w() { (cd "$LB_TOP" && "$LLMBENCH" run "$@" --db "$TMP/w.db" --no-progress); }

test_expect_code 2 'a typo in a --set key is an unknown key' '
	run_w "$W" --set load.levle=3 2>err; rc=$?
	grep -q "unknown key .levle. in load (valid: mode, levels, requests" err && exit $rc
'
test_expect_code 2 'a key in the file is refused' '
	run_w "$W" --set backends.0.api_key=sk-x 2>err; rc=$?
	grep -q "backends\[0\].api_key: a key does not belong in a workload file" err && exit $rc
'
test_expect_code 2 'malformed JSON names line and column' '
	printf "{\n  \"name\": \"x\",,\n}\n" >"$TMP/bad.json" &&
	run_w "$TMP/bad.json" 2>err; rc=$?
	grep -q "bad.json.: malformed JSON at line 2, column 1[56]" err && exit $rc
'
test_expect_code 2 'a missing workload file names the path' '
	run_w "$TMP/none.json" 2>err; rc=$?
	grep -q "cannot open workload .*none.json" err && exit $rc
'
test_expect_code 2 'a missing dataset names both tried paths' '
	run_w "$W" --set dataset.path=nope.txt 2>err; rc=$?
	grep -q "tried .nope.txt. from the current directory and .*workloads/nope.txt. beside" err &&
	exit $rc
'
test_expect_code 2 'a --set through a missing index is an error' '
	run_w "$W" --set backends.2.model=m 2>err; rc=$?
	grep -q "backends has no element 2 (it has 1)" err && exit $rc
'
test_expect_success 'a base_url port out of 1-65535, an empty port or host, an open [: named, exit 2' '
	for u in http://127.0.0.1:80800/v1 http://127.0.0.1:/v1 http://127.0.0.1:0/v1 \
		http://:8080/v1 "http://[::1/v1"; do
		run_w "$W" --set "backends.0.base_url=$u" 2>err; rc=$?
		test $rc -eq 2 && grep -q "backends\[0\].base_url: the URL .* \(has port\|has no host\|never closes\)" err ||
		{ echo "$u: $rc"; cat err; exit 1; }
	done
'
test_expect_code 2 'a dataset path that is a folder is named as one' '
	run_w "$W" --set dataset.path="$TMP" 2>err; rc=$?
	grep -q "dataset.path: .* is a folder; give the prompt file in it" err && exit $rc
'
test_expect_success 'a run name with a tab or line break: exit 2 for run, bench, merge and slurm' '
	run_w "$W" --name "$(printf "a\tb")" 2>err; test $? -eq 2 &&
	grep -q "a run name cannot hold a control character (byte 0x09" err &&
	"$LLMBENCH" bench --base-url http://127.0.0.1:9/v1 --model m --name "$(printf "a\nb")" 2>err; test $? -eq 2 &&
	"$LLMBENCH" merge "$TMP/m.db" "$TMP/none.db" --name "$(printf "a\nb")" 2>err; test $? -eq 2 &&
	"$LLMBENCH" slurm "$W" --shards 2 --name "$(printf "a\nb")" 2>err; test $? -eq 2 &&
	grep -q "control character" err && ! test -e "$TMP/m.db"
'
test_expect_success 'nothing was stored by the refused runs' '
	test ! -e "$TMP/w.db" || test "$(sqlite3 "$TMP/w.db" "SELECT COUNT(*) FROM runs")" = 0
'
test_expect_code 2 'a dataset that does not parse leaves no new store behind' '
	printf "{\"prompt\": \"hi\"\n" >"$TMP/bad.jsonl" &&
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/new.db" --no-progress --no-preflight \
		--set dataset.path="$TMP/bad.jsonl" --set dataset.format=jsonl) 2>err; rc=$?
	cat err && grep -q "bad.jsonl.:1: malformed JSON" err &&
	! ls "$TMP"/new.db* 2>/dev/null && exit $rc
'
# started here, not in a test body (a subshell): its cleanup must reach the script's exit
start_sim SP --ttft-ms 1 --itl-ms 1 --output-tokens 2 || exit 1
test_expect_success 'a store that existed before stays, with its runs' '
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/old.db" --no-progress --name first \
		--set backends.0.base_url=http://127.0.0.1:$SP/v1 \
		--set '\''load={"mode": "concurrency", "levels": [1], "requests": 2}'\'') >out 2>&1 &&
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/old.db" --no-progress --no-preflight \
		--set dataset.path="$TMP/bad.jsonl" --set dataset.format=jsonl) 2>err
	test $? = 2 && grep -q "malformed JSON" err &&
	test "$(sqlite3 "$TMP/old.db" "SELECT group_concat(name) FROM runs")" = first
'
test_expect_success 'a bad power section is named like the rest of the workload (the file first)' '
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/pw.db" --set power.idle_s=-1) 2>err
	rc=$?; cat err; test $rc = 2 && test "$(wc -l <err)" = 1 &&
	grep -q "^llmbench: error: .$W.: power.idle_s: expected seconds from 0 to 3600" err &&
	! ls "$TMP"/pw.db* 2>/dev/null
'
test_expect_success 'with --no-preflight, no backend opened is a failed run (exit 3), never done' '
	echo "not a model" >"$TMP/bad.gguf" &&
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/nob.db" --no-progress --no-preflight \
		--set backends.0.type=llamacpp --set backends.0.model_path="$TMP/bad.gguf") >out 2>err
	rc=$?; cat err; test $rc -eq 3 && grep -q "no backend could be opened" err &&
	test "$(sqlite3 "$TMP/nob.db" "SELECT status || '"'"': '"'"' || note FROM runs")" = "failed: no backend could be opened"
'
test_done
