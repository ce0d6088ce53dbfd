#!/usr/bin/env bash
# bench-model -o md|csv|json|jsonl|sql as llama-bench: one row per pp/tg test with llama-bench's
# fields; the sql loads into SQLite; a bad -o value is one line, exit 2.
. "$(dirname "$0")/../lib.sh"

if ! "$LLMBENCH" model make --help >/dev/null 2>&1; then
	echo "# skipped: built without llama.cpp"; test_done; exit
fi
BM=( "$LLMBENCH" bench-model --model tiny.gguf -p 16 -n 8 -r 2 -t 1 )
test_expect_success 'a tiny model' '"$LLMBENCH" model make --arch llama --out tiny.gguf --seed 5 >/dev/null'
test_expect_success '-o csv: a header and one row per test' '
	"${BM[@]}" -o csv >out.csv 2>/dev/null && cat out.csv &&
	head -1 out.csv | grep -q "^model_filename,model_type,model_size,model_n_params,backends,n_threads,n_batch,n_prompt,n_gen,test,avg_ns,stddev_ns,avg_ts,stddev_ts$" &&
	test $(wc -l <out.csv) -eq 3 && grep -q ",\"pp16\"," out.csv && grep -q ",\"tg8\"," out.csv
'
test_expect_success '-o jsonl: one object per test' '
	"${BM[@]}" -o jsonl 2>/dev/null | python3 -c "
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert [r[\"test\"] for r in rows] == [\"pp16\", \"tg8\"], rows
assert all(r[\"avg_ts\"] > 0 and r[\"n_threads\"] == 1 for r in rows)"
'
test_expect_success '-o sql loads into sqlite3' '
	"${BM[@]}" -o sql 2>/dev/null | sqlite3 bm.db &&
	test "$(sqlite3 bm.db "SELECT group_concat(test) FROM test WHERE avg_ts > 0")" = "pp16,tg8"
'
test_expect_success '-o json is --json' '
	"${BM[@]}" --no-serve -o json 2>/dev/null | python3 -c "import json,sys; d = json.load(sys.stdin); assert len(d[\"tests\"]) == 2"
'
test_expect_code 2 'a bad -o value: one line' '
	"${BM[@]}" -o xml 2>err; rc=$?; cat err; test $(wc -l <err) -eq 1 &&
	grep -q "unknown format .xml. (valid: md, csv, json, jsonl, sql)" err && exit $rc
'
test_done
