#!/usr/bin/env bash
# `llmbench export`: CSV (RFC 4180, LF), JSON and JSONL of the fixture store of
# tests/unit/test_store.c (run 'fx': requests 1-10, 1-2 warm-up, 7 http_429 with quotes and a
# comma in its error, 8 a cut stream with a newline in its error, 9 one chunk, 10 two chunks of
# 2 and 3 tokens; stored out of order); --chunks; --out; unknown run; missing store; --help;
# energy_j_attributed with energy_j rows added to a copy of the fixture.
. "$(dirname "$0")/../lib.sh"

case ${LB_BUILD:-build} in /*) B=${LB_BUILD} ;; *) B=$LB_TOP/${LB_BUILD:-build} ;; esac
FIXTURE=$B/tests/test_store
HEADER=request_id,run,backend,family,quant,level,level_mode,level_value,rep,warmup,status,http_status,error,ttft_ms,tpot_ms,itl_mean_ms,e2e_ms,lag_ms,prompt_tokens,prompt_tokens_source,output_tokens,output_tokens_source,n_chunks,t_scheduled_ns,t_send_ns,t_first_ns,t_end_ns,energy_j_attributed

test_expect_success "fixture store written by $FIXTURE (make unit)" '
	LB_STORE_FIXTURE="$TMP/fx.db" "$FIXTURE" && test -s "$TMP/fx.db"
'

test_expect_success '--help prints the usage to stdout' '
	"$LLMBENCH" export --help >out 2>err && grep -q "^usage: llmbench export" out && test ! -s err
'

test_expect_success 'csv: the header, then 10 rows in request order' '
	"$LLMBENCH" export --db fx.db --run fx >out.csv &&
	test "$(head -n 1 out.csv)" = "$HEADER" &&
	python3 - out.csv <<-PY
	import csv, sys
	rows = list(csv.DictReader(open(sys.argv[1], newline="")))
	assert [int(r["request_id"]) for r in rows] == list(range(1, 11)), rows
	by = {r["request_id"]: r for r in rows}
	r3 = by["3"]
	assert (r3["status"], r3["warmup"], r3["level"], r3["level_mode"]) == ("ok", "0", "0", "concurrency"), r3
	assert float(r3["ttft_ms"]) == 20 and float(r3["tpot_ms"]) == 12.5 and float(r3["e2e_ms"]) == 45, r3
	assert abs(float(r3["itl_mean_ms"]) - 10) < 1e-6 and r3["n_chunks"] == "3", r3
	assert (r3["backend"], r3["family"], r3["quant"], r3["run"]) == ("sim-a", "llama", "q4_0", "fx"), r3
	assert by["1"]["warmup"] == "1" and by["2"]["warmup"] == "1", rows
	r7 = by["7"]
	assert r7["status"] == "http_429" and r7["http_status"] == "429", r7
	assert r7["error"] == "too many \"requests\", slow down", r7
	assert r7["ttft_ms"] == "" and r7["e2e_ms"] == "" and r7["t_first_ns"] == "", r7
	assert float(r7["level_value"]) == 4 and r7["level"] == "1", r7
	assert by["8"]["error"] == "stream cut\noff" and by["8"]["itl_mean_ms"] == "", by["8"]
	assert by["9"]["itl_mean_ms"] == "" and by["9"]["tpot_ms"] == "", by["9"]
	assert by["10"]["prompt_tokens"] == "" and by["10"]["prompt_tokens_source"] == "unknown", by["10"]
	assert by["10"]["output_tokens"] == "5" and by["10"]["output_tokens_source"] == "events", by["10"]
	PY
'

test_expect_success 'csv: no energy stored, energy_j_attributed is empty in every row' '
	python3 -c "import csv,sys; r=list(csv.DictReader(open(sys.argv[1], newline=\"\"))); assert all(x[\"energy_j_attributed\"] == \"\" for x in r), r" out.csv
'

cat >"$TMP/energy.sql" <<'SQL'
INSERT INTO summaries (run_id, backend_id, level_id, metric, value, unit)
SELECT l.run_id, l.backend_id, l.id, 'energy_j', CASE l.idx WHEN 0 THEN 28 ELSE 5 END, 'J'
FROM levels l JOIN runs r ON r.id = l.run_id WHERE r.name = 'fx';
SQL
cat >"$TMP/unavailable.sql" <<'SQL'
UPDATE summaries SET value = NULL, note = 'unavailable: no power source' WHERE metric = 'energy_j';
SQL
# Level 0 (requests 3-6 measured, each 11 prompt + 3 output tokens) gets 28 J: 7 J each;
# level 1 gets 5 J but request 10's prompt tokens are unknown, so its total is unknown.
test_expect_success 'energy_j_attributed: level energy shared by tokens over measured ok requests' '
	cp fx.db en.db &&
	sqlite3 en.db <"$TMP/energy.sql" &&
	"$LLMBENCH" export --db en.db --run fx >en.csv &&
	"$LLMBENCH" export --db en.db --run fx --format json >en.json &&
	python3 - en.csv en.json <<-PY
	import csv, json, sys
	rows = {int(r["request_id"]): r for r in csv.DictReader(open(sys.argv[1], newline=""))}
	assert [float(rows[i]["energy_j_attributed"]) for i in (3, 4, 5, 6)] == [7.0] * 4, rows
	assert all(rows[i]["energy_j_attributed"] == "" for i in (1, 2, 7, 8, 9, 10)), rows
	d = {o["request_id"]: o for o in json.load(open(sys.argv[2]))}
	assert d[3]["energy_j_attributed"] == 7 and d[1]["energy_j_attributed"] is None, d[3]
	assert d[9]["energy_j_attributed"] is None and d[7]["energy_j_attributed"] is None, d[9]
	PY
'

test_expect_success 'energy_j_attributed: unavailable level energy (NULL) gives empty fields' '
	sqlite3 en.db <"$TMP/unavailable.sql" &&
	"$LLMBENCH" export --db en.db --run fx --format jsonl >un.jsonl &&
	python3 -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; assert len(r) == 10 and all(o[\"energy_j_attributed\"] is None for o in r), r" un.jsonl
'

test_expect_success 'csv: fields with a quote, comma or newline are quoted' '
	grep -q "^7,.*,\"too many \"\"requests\"\", slow down\"," out.csv &&
	grep -q ",\"stream cut$" out.csv
'

test_expect_success 'csv --no-warmup: 8 rows' '
	"$LLMBENCH" export --db fx.db --run fx --no-warmup >nw.csv &&
	python3 -c "import csv,sys; r=list(csv.DictReader(open(sys.argv[1], newline=\"\"))); assert len(r) == 8 and all(x[\"warmup\"] == \"0\" for x in r), r" nw.csv
'

test_expect_success 'json: an array of 10 objects with the csv columns; null for unknown' '
	"$LLMBENCH" export --db fx.db --run fx --format json >out.json &&
	python3 - out.json "$HEADER" <<-PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert len(d) == 10 and all(list(o) == sys.argv[2].split(",") for o in d), d[0]
	by = {o["request_id"]: o for o in d}
	assert by[1]["warmup"] is True and by[3]["warmup"] is False, by[1]
	assert by[7]["ttft_ms"] is None and by[7]["http_status"] == 429, by[7]
	assert by[3]["ttft_ms"] == 20 and by[3]["itl_mean_ms"] == 10, by[3]
	assert by[9]["itl_mean_ms"] is None and by[10]["prompt_tokens"] is None, by[9]
	assert "chunk_times_ms" not in by[3], by[3]
	PY
'

test_expect_success 'jsonl: one object per line, same content as json' '
	"$LLMBENCH" export --db fx.db --run fx --format jsonl >out.jsonl &&
	test $(wc -l <out.jsonl) -eq 10 &&
	python3 - out.jsonl out.json <<-PY
	import json, sys
	lines = [json.loads(l) for l in open(sys.argv[1])]
	assert lines == json.load(open(sys.argv[2]))
	PY
'

test_expect_success '--chunks: chunk offsets from t_send in ms and tokens per chunk' '
	"$LLMBENCH" export --db fx.db --run fx --format json --chunks >ch.json &&
	python3 - ch.json <<-PY
	import json, sys
	d = {o["request_id"]: o for o in json.load(open(sys.argv[1]))}
	assert all(len(o["chunk_times_ms"]) == o["n_chunks"] == len(o["chunk_tokens"]) for o in d.values())
	assert d[3]["chunk_times_ms"] == [20, 30, 40] and d[3]["chunk_tokens"] == [1, 1, 1], d[3]
	assert d[10]["chunk_times_ms"] == [20, 30] and d[10]["chunk_tokens"] == [2, 3], d[10]
	assert d[7]["chunk_times_ms"] == [] and d[8]["chunk_times_ms"] == [10], d[8]
	assert d[3]["t_first_ns"] - d[3]["t_send_ns"] == d[3]["chunk_times_ms"][0] * 1e6
	PY
'

test_expect_success '--out writes the same bytes as stdout' '
	"$LLMBENCH" export --db fx.db --run fx --format jsonl --out file.jsonl >stdout &&
	test ! -s stdout && cmp file.jsonl out.jsonl
'

test_expect_success 'a run with no requests: header only / empty array' '
	"$LLMBENCH" export --db fx.db --run fx-empty >e.csv && test "$(cat e.csv)" = "$HEADER" &&
	test "$("$LLMBENCH" export --db fx.db --run fx-empty --format json)" = "[]"
'

test_expect_success 'unknown run: exit 2 listing the runs of the store' '
	"$LLMBENCH" export --db fx.db --run nope >out 2>err; test $? -eq 2 &&
	grep -q "no run .nope. in .fx.db." err && grep -q "fx-empty" err && grep -q "fx-running" err &&
	test ! -s out
'

test_expect_success 'missing store: exit 2 naming the path' '
	"$LLMBENCH" export --db none.db --run fx 2>err; test $? -eq 2 &&
	grep -q "cannot open .none.db.: no such file" err && test ! -e none.db
'

test_expect_success 'unwritable --out: exit 2 naming it, nothing on stdout' '
	"$LLMBENCH" export --db fx.db --run fx --out no/such/dir/x.csv >out 2>err; test $? -eq 2 &&
	grep -q "no/such/dir/x.csv" err && test ! -s out
'

test_expect_success 'a failed write removes only its own file: an older FILE stays, a link stays' '
	echo precious >keep.csv &&
	"$LLMBENCH" export --db fx.db --run nope --out keep.csv 2>err; test $? -eq 2 &&
	test "$(cat keep.csv)" = precious &&
	ln -s /dev/full full.csv &&
	"$LLMBENCH" export --db fx.db --run fx --out full.csv 2>err; test $? -eq 3 &&
	grep -q "cannot write .full.csv." err && test -L full.csv && test -c /dev/full &&
	test "$(ls | grep -c "\.tmp-")" -eq 0 &&
	"$LLMBENCH" export --db fx.db --run fx --out keep.csv && head -1 keep.csv | grep -q "^request_id,"
'

test_expect_code 2 '--run is required' '"$LLMBENCH" export --db fx.db'
test_expect_code 2 'an unknown --format is a usage error' '"$LLMBENCH" export --db fx.db --run fx --format xml'
test_expect_code 2 '--chunks with csv is a usage error' '"$LLMBENCH" export --db fx.db --run fx --chunks'
test_expect_code 2 '--chunks with vllm is a usage error' '"$LLMBENCH" export --db fx.db --run fx --chunks --format vllm'
test_expect_code 2 '--run twice is a usage error' '"$LLMBENCH" export --db fx.db --run fx --run fx-empty'
test_expect_code 2 'an unknown option is a usage error' '"$LLMBENCH" export --db fx.db --run fx --bogus'
test_expect_code 2 '--sessions of a run without sessions: exit 2 saying so' '
	"$LLMBENCH" export --db fx.db --run fx --sessions >out 2>err; rc=$?
	cat err; grep -q "run .fx. played no multi-turn sessions" err && test ! -s out && exit $rc
'

test_done
