#!/usr/bin/env bash
# Sharded runs and merge (docs/scale-out.md): shard specs and --start-at refused with one line
# and nothing written; three shards of one split load merge into one run whose request count is
# the sum of the shards' and whose percentiles are those of all its rows; merging again adds
# nothing; missing shards are reported; stores of another workload, shard count or run, a
# truncated store and a file that is no store are refused with nothing written; report,
# export, compare and gate read the merged run; a model matrix is split by cell; a shard that
# falls behind its level's window marks the level invalid; evaluation rows and server scrapes
# are merged (each backend's evaluation once); figures are the same when the sort spills; over
# 2^21 chunk gaps in a level, ITL is a single run's reservoir sample; how the chunks were timed
# is the sum of the shards' figures (unavailable when they do not cover the level), and the
# zero chunk gaps are counted from the rows as the shards counted them; requests abandoned on
# purpose (load.cancel) are neither ok nor failed in the merge, as in each shard.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 10 --itl-ms 1 --output-tokens 4 --jitter-ms 2 --seed 5 || exit 1
W=$LB_TOP/workloads/smoke.json
LOAD='load={"mode": "rate", "levels": [60], "requests": 30, "warmup": 0, "arrival": "constant"}'
shard() { # db shard start [more run options]
	local db=$1 k=$2 start=$3
	shift 3
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$db" --name sharded --no-progress --shard "$k" \
		--start-at "$start" --set backends.0.base_url=http://127.0.0.1:$PORT/v1 \
		--set generation.max_tokens=4 --set "$LOAD" "$@")
}
soon() { python3 -c 'import sys, time; print("@%.3f" % (time.time() + float(sys.argv[1])))' "$1"; }
code_is() { local want=$1 rc; shift; "$@"; rc=$?; echo "exit $rc"; test "$rc" -eq "$want"; }
one_line_no_file() { # file: expects exit 2 already checked; one line of error, no $2
	test "$(wc -l <err)" = 1 && grep -q "^llmbench: error: " err && test ! -e "$1"
}

test_expect_success 'a shard out of range: one line, exit 2, nothing written' '
	code_is 2 shard "$TMP/x.db" 4/4 "$(soon 5)" 2>err &&
	cat err && grep -q "out of range" err && one_line_no_file "$TMP/x.db"
'
test_expect_success '--shard auto without engine variables: one line, exit 2, nothing written' '
	code_is 2 env -u SLURM_ARRAY_TASK_ID -u SLURM_PROCID -u JOB_COMPLETION_INDEX \
		"$LLMBENCH" run "$W" --db "$TMP/x.db" --shard auto 2>err &&
	cat err && grep -q "no engine variables" err && one_line_no_file "$TMP/x.db"
'
test_expect_success '--start-at in the past: one line, exit 2, nothing written' '
	code_is 2 shard "$TMP/x.db" 0/2 2020-01-01T00:00:00Z 2>err &&
	cat err && grep -q "in the past" err && one_line_no_file "$TMP/x.db"
'
test_expect_success '--start-at over 7 days ahead, or without --shard, and SLURM_PROCID alone: one line, exit 2' '
	code_is 2 shard "$TMP/x.db" 0/3 "@$(( $(date +%s) + 99999999 ))" 2>err && cat err &&
	grep -q "days away: at most 7 days ahead" err && one_line_no_file "$TMP/x.db" &&
	code_is 2 "$LLMBENCH" run "$W" --db "$TMP/x.db" --start-at "$(soon 30)" 2>err &&
	grep -q "give it with --shard K/N" err && one_line_no_file "$TMP/x.db" &&
	code_is 2 env -u SLURM_NTASKS SLURM_PROCID=1 "$LLMBENCH" run "$W" --db "$TMP/x.db" --shard auto 2>err &&
	grep -q "SLURM_PROCID is set but SLURM_NTASKS is not" err && one_line_no_file "$TMP/x.db"
'
test_expect_success 'a split load without --start-at is refused' '
	(cd "$LB_TOP" && code_is 2 env -u LLMBENCH_START_AT "$LLMBENCH" run "$W" --db "$TMP/x.db" \
		--shard 0/2) 2>err && cat err && grep -q "start together" err && test ! -e "$TMP/x.db"
'

S=$(soon 1.5)
pids=
for k in 0 1 2; do shard "$TMP/s$k.db" $k/3 "$S" >"$TMP/s$k.out" 2>&1 & pids="$pids $!"; done
wait $pids
test_expect_success 'three shards ran, each a third of the load' '
	for k in 0 1 2; do
		test "$(sqlite3 "$TMP/s$k.db" "SELECT count(*) FROM requests")" = 10 &&
		test "$(sqlite3 "$TMP/s$k.db" "SELECT shard || \"/\" || n_shards || \" \" || split FROM shards")" = "$k/3 load" &&
		test "$(sqlite3 "$TMP/s$k.db" "SELECT value FROM levels")" = 20.0 || return 1
	done
'
test_expect_success 'merge: requests = sum of the shards, offered rate = the whole rate' '
	"$LLMBENCH" merge "$TMP/m.db" "$TMP"/s0.db "$TMP"/s1.db "$TMP"/s2.db >out 2>err && cat out err &&
	test "$(sqlite3 "$TMP/m.db" "SELECT count(*) FROM requests")" = 30 &&
	test "$(sqlite3 "$TMP/m.db" "SELECT count(DISTINCT req_id) FROM requests")" = 30 &&
	test "$(sqlite3 "$TMP/m.db" "SELECT value FROM summaries WHERE metric = '\''offered_rate'\''")" = 60.0 &&
	test "$(sqlite3 "$TMP/m.db" "SELECT value FROM summaries WHERE metric = '\''requests_ok'\''")" = 30.0 &&
	test "$(sqlite3 "$TMP/m.db" "SELECT value FROM summaries WHERE metric = '\''shards_merged'\''")" = 3.0 &&
	test "$(sqlite3 "$TMP/m.db" "SELECT count(DISTINCT shard) FROM shard_summaries")" = 3
'
test_expect_success 'merged percentiles are those of all the rows (numpy-style interpolation)' '
	python3 - "$TMP/m.db" <<-\PY
	import sqlite3, sys
	db = sqlite3.connect(sys.argv[1])
	def pct(v, p):
	    r = p / 100 * (len(v) - 1); lo = int(r)
	    return v[-1] if lo + 1 >= len(v) else v[lo] + (r - lo) * (v[lo + 1] - v[lo])
	for col in ("ttft", "e2e", "tpot"):
	    v = sorted(x for (x,) in db.execute(f"SELECT {col}_ms FROM requests WHERE warmup = 0 AND status = '\''ok'\'' AND {col}_ms IS NOT NULL"))
	    for p, name in ((50, "p50"), (90, "p90"), (99, "p99"), (99.9, "p999")):
	        (got,) = db.execute("SELECT value FROM summaries WHERE metric = ?", (f"{col}_{name}_ms",)).fetchone()
	        want = pct(v, p)
	        assert abs(got - want) <= 1e-9 * max(1, abs(want)), (col, name, got, want)
	print("ok")
	PY
'
test_expect_success 'a merged store has the indexes of a shard store (one is built after the copy)' '
	idx() { sqlite3 "$1" "SELECT name, sql FROM sqlite_master WHERE type = '\''index'\'' ORDER BY name"; } &&
	idx "$TMP/s0.db" >want && idx "$TMP/m.db" >got && grep -q requests_run_req got && cmp want got &&
	sqlite3 "$TMP/m.db" "EXPLAIN QUERY PLAN SELECT * FROM requests WHERE run_id = 1 AND req_id = 5" >plan &&
	grep -q "USING INDEX requests_run_req" plan
'
test_expect_success 'the figures are the same when their sort spills to a temporary file' '
	"$LLMBENCH" merge "$TMP/spill.db" "$TMP"/s0.db "$TMP"/s1.db "$TMP"/s2.db --sort-values 4 \
		--timing >out 2>err && cat err && grep -q "spilled [0-9]* values" err &&
	grep -q "timing: sync " err && ! ls "$TMP"/spill.db.merging-* 2>/dev/null &&
	figs() {
		sqlite3 "$1" "SELECT coalesce(l.idx, -1), s.metric, s.value, s.n, s.unit, s.note
			FROM summaries s LEFT JOIN levels l ON l.id = s.level_id ORDER BY 1, 2"
	} &&
	figs "$TMP/m.db" >want && figs "$TMP/spill.db" >got && test "$(wc -l <want)" -gt 50 &&
	cmp want got
'
test_expect_success 'over 2^21 chunk gaps in a level: ITL is the reservoir sample a single run keeps' '
	for k in 0 1 2; do cp "$TMP/s$k.db" "$TMP/g$k.db" || return 1; done &&
	python3 - "$TMP"/g0.db "$TMP"/g1.db "$TMP"/g2.db <<-\PY &&
	import random, sqlite3, sys
	def leb(v):
	    out = bytearray()
	    while True:
	        b = v & 0x7F; v >>= 7
	        out.append(b | (0x80 if v else 0))
	        if not v: return bytes(out)
	rnd = random.Random(7)
	for path in sys.argv[1:]:
	    db = sqlite3.connect(path)
	    cols = [r[1] for r in db.execute("PRAGMA table_info(requests)") if r[1] != "id"]
	    tpl = dict(zip(cols, db.execute("SELECT " + ",".join(cols) + " FROM requests WHERE status = '\''ok'\'' LIMIT 1").fetchone()))
	    rows = []
	    for i in range(21000):
	        r = dict(tpl, req_id=1000 + i, seq=1000 + i, n_chunks=36,
	                 chunk_times=b"".join(leb(rnd.randrange(1, 5000000)) for _ in range(36)))
	        rows.append(tuple(r[c] for c in cols))
	    db.executemany("INSERT INTO requests (" + ",".join(cols) + ") VALUES (" + ",".join("?" * len(cols)) + ")", rows)
	    db.commit()
	PY
	"$LLMBENCH" merge "$TMP/gaps.db" "$TMP"/g0.db "$TMP"/g1.db "$TMP"/g2.db --sort-values 100000 >/dev/null &&
	python3 - "$TMP/gaps.db" <<-\PY
	import sqlite3, sys
	db = sqlite3.connect(sys.argv[1])
	M, INC, MASK = 1 << 21, 0x9e3779b97f4a7c15, (1 << 64) - 1
	def mix(z):
	    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & MASK
	    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & MASK
	    return z ^ (z >> 31)
	def leb128(b):
	    out, x, shift = [], 0, 0
	    for byte in b:
	        x |= (byte & 0x7F) << shift; shift += 7
	        if not byte & 0x80: out.append(x); x, shift = 0, 0
	    return out
	res, seen, state = [], 0, INC
	for n, blob in db.execute("SELECT n_chunks, chunk_times FROM requests WHERE warmup = 0 AND status = '\''ok'\'' AND n_chunks >= 2 ORDER BY id"):
	    for d in leb128(blob)[1:n]:
	        g = d / 1e6; seen += 1
	        if len(res) < M: res.append(g); continue
	        state = (state + INC) & MASK
	        j = mix(state) % seen
	        if j < M: res[j] = g
	assert seen > M, seen
	res.sort()
	def pct(v, p):
	    r = p / 100 * (len(v) - 1); lo = int(r)
	    return v[-1] if lo + 1 >= len(v) else v[lo] + (r - lo) * (v[lo + 1] - v[lo])
	want = {"min": res[0], "max": res[-1], "p50": pct(res, 50), "p90": pct(res, 90), "p99": pct(res, 99), "p999": pct(res, 99.9)}
	for k, w in want.items():
	    got, n, prov = db.execute("SELECT value, n, provenance FROM summaries WHERE metric = ?", (f"itl_{k}_ms",)).fetchone()
	    assert n == M and prov == "chunk gaps (reservoir sample)", (k, n, prov)
	    assert got == w, (k, got, w)
	print("ok: %d gaps, ITL sample of %d" % (seen, M))
	PY
'
test_expect_success 'the figures read beside the copy (a new OUT.db) equal those read after it, bit for bit' '
	figs() {
		sqlite3 "$1" "SELECT coalesce(l.idx, -1), s.metric, quote(s.value), s.n, s.unit,
			s.provenance, s.note FROM summaries s LEFT JOIN levels l ON l.id = s.level_id
			ORDER BY 1, 2"
	} &&
	for m in m:s0.db:s1.db:s2.db gaps:g0.db:g1.db:g2.db spill:s0.db:s1.db:s2.db; do
		IFS=: read -r out a b c <<-EOF || return 1
		$m
		EOF
		opt= && { test "$out" != spill || opt="--sort-values 4"; } &&
		rm -f "$TMP/serial.db" &&
		LLMBENCH_MERGE_THREAD=0 "$LLMBENCH" merge "$TMP/serial.db" "$TMP/$a" "$TMP/$b" "$TMP/$c" \
			$opt >/dev/null &&
		figs "$TMP/$out.db" >want && figs "$TMP/serial.db" >got &&
		echo "$out: $(wc -l <want) figures" && test "$(wc -l <want)" -gt 50 && cmp want got || return 1
	done
'
test_expect_success 'how the chunks were timed: the sum of the shards, unavailable when one does not say; zero gaps from the rows' '
	q="SELECT metric || \" \" || value || \" \" || n FROM summaries WHERE metric LIKE '\''chunks_%'\'' ORDER BY metric" &&
	sqlite3 "$TMP/m.db" "$q" >merged && cat merged && test "$(wc -l <merged)" = 3 &&
	for m in chunks_kernel_own chunks_kernel_read chunks_harness; do
		sum=$(for k in 0 1 2; do sqlite3 "$TMP/s$k.db" "SELECT value FROM summaries WHERE metric = '\''$m'\''"; done |
			python3 -c "import sys; print(sum(float(x) for x in sys.stdin))") &&
		grep -q "^$m $sum 120.0$" merged || return 1
	done &&
	z() { sqlite3 "$1" "SELECT value || \" \" || n FROM summaries WHERE metric = '\''itl_zero_gaps'\''"; } &&
	zs=$(for k in 0 1 2; do z "$TMP/s$k.db"; done | awk "{ v += \$1; n += \$2 } END { print v, n }") &&
	echo "itl_zero_gaps: merged $(z "$TMP/m.db"), shards $zs" &&
	test "$(z "$TMP/m.db" | awk "{ print \$1 + 0, \$2 + 0 }")" = "$zs" &&
	cp "$TMP/s1.db" "$TMP/s1-old.db" &&
	sqlite3 "$TMP/s1-old.db" "DELETE FROM summaries WHERE metric LIKE '\''chunks_%'\''" &&
	"$LLMBENCH" merge "$TMP/m-old.db" "$TMP"/s0.db "$TMP"/s1-old.db "$TMP"/s2.db >/dev/null 2>&1 &&
	sqlite3 "$TMP/m-old.db" "SELECT count(*) FROM summaries WHERE metric LIKE '\''chunks_%'\'' AND value IS NULL AND note LIKE '\''%figures cover 80 of the level%s 120 chunks'\''" >n &&
	test "$(cat n)" = 3
'
test_expect_success 'merging the same shards again, or one twice, adds nothing' '
	"$LLMBENCH" merge "$TMP/m.db" "$TMP"/s1.db "$TMP"/s1.db >out 2>err && cat out err &&
	grep -q "given twice" err && grep -q "already in run" err &&
	test "$(sqlite3 "$TMP/m.db" "SELECT count(*) FROM requests")" = 30 &&
	test "$(sqlite3 "$TMP/m.db" "SELECT count(*) FROM runs")" = 1
'
test_expect_success 'a missing shard is reported and recorded' '
	"$LLMBENCH" merge "$TMP/part.db" "$TMP"/s0.db "$TMP"/s2.db >out 2>err && cat out err &&
	grep -q "missing.*: 1" err &&
	test "$(sqlite3 "$TMP/part.db" "SELECT value FROM summaries WHERE metric = '\''shards_missing'\''")" = 1.0 &&
	sqlite3 "$TMP/part.db" "SELECT note FROM runs" | grep -q "missing: 1" &&
	test "$(sqlite3 "$TMP/part.db" "SELECT count(*) FROM requests")" = 20 &&
	test "$(sqlite3 "$TMP/part.db" "SELECT valid FROM levels")" = 0 &&
	sqlite3 "$TMP/part.db" "SELECT invalid_reason FROM levels" | grep -q "only 2 of 3 shards measured this level (the others are missing or never began it): its figures are those of part of its load$" &&
	"$LLMBENCH" merge "$TMP/part.db" "$TMP"/s1.db >/dev/null 2>&1 &&
	test "$(sqlite3 "$TMP/part.db" "SELECT count(*) FROM requests")" = 30 &&
	test "$(sqlite3 "$TMP/part.db" "SELECT value FROM summaries WHERE metric = '\''requests_ok'\''")" = 30.0 &&
	want=$(for k in 0 1 2; do sqlite3 "$TMP/s$k.db" "SELECT valid FROM levels"; done | sort | head -1) &&
	test "$(sqlite3 "$TMP/part.db" "SELECT valid FROM levels")" = "$want" &&
	! sqlite3 "$TMP/part.db" "SELECT invalid_reason FROM levels" | grep -q "shards measured this level" &&
	test "$(sqlite3 "$TMP/part.db" "SELECT value || '\''|'\'' || coalesce(note, '\''-'\'') FROM summaries WHERE metric = '\''shards_missing'\''")" = "0.0|-"
'

S=$(soon 1.5)
shard "$TMP/other.db" 0/3 "$S" --set generation.max_tokens=3 >/dev/null 2>&1 & pids=$!
shard "$TMP/two.db" 0/2 "$S" >/dev/null 2>&1 & pids="$pids $!"
shard "$TMP/grp.db" 1/3 "$S" --shard-group elsewhere >/dev/null 2>&1 & pids="$pids $!"
wait $pids
refused() { # pattern inputs...: exit 2, one line matching, nothing written
	local pat=$1
	shift
	rm -f "$TMP/bad.db"
	code_is 2 "$LLMBENCH" merge "$TMP/bad.db" "$@" 2>err
	cat err && grep -q "$pat" err && one_line_no_file "$TMP/bad.db" &&
		test -z "$(ls "$TMP" | grep "bad.db.merging")"
}
test_expect_success 'a shard of another workload is refused' 'refused "different workload" "$TMP/s0.db" "$TMP/other.db"'
test_expect_success 'a different shard count is refused' 'refused "different shard counts" "$TMP/s0.db" "$TMP/two.db"'
test_expect_success 'a shard of another run (group) is refused' 'refused "not a shard of this run" "$TMP/s0.db" "$TMP/grp.db"'
test_expect_success 'a shard of another group merged into an existing run is refused, the run unchanged' '
	"$LLMBENCH" merge "$TMP/grow.db" "$TMP/s0.db" >/dev/null 2>&1 &&
	before=$(sqlite3 "$TMP/grow.db" "SELECT count(*) FROM requests") &&
	code_is 2 "$LLMBENCH" merge "$TMP/grow.db" "$TMP/grp.db" 2>err && cat err &&
	grep -q "is not a shard of run .sharded.*its shard group is .elsewhere." err &&
	test "$(sqlite3 "$TMP/grow.db" "SELECT count(*) FROM requests")" = "$before" &&
	code_is 2 "$LLMBENCH" merge "$TMP/m.db" "$TMP/grp.db" 2>err && grep -q "shard group" err
'
test_expect_success 'a truncated store is refused' '
	cp "$TMP/s1.db" "$TMP/trunc.db" && truncate -s $(( $(stat -c %s "$TMP/s1.db") / 2 )) "$TMP/trunc.db" &&
	refused "trunc.db" "$TMP/s0.db" "$TMP/trunc.db"
'
test_expect_success 'a truncated OUT.db is refused too (exit 2), left as it was' '
	cp "$TMP/m.db" "$TMP/tout.db" && truncate -s $(( $(stat -c %s "$TMP/m.db") / 2 )) "$TMP/tout.db" &&
	sum=$(md5sum <"$TMP/tout.db") &&
	code_is 2 "$LLMBENCH" merge "$TMP/tout.db" "$TMP/s0.db" 2>err && cat err &&
	grep -q "tout.db.*truncated or corrupt" err && test "$(md5sum <"$TMP/tout.db")" = "$sum"
'
test_expect_success 'a file that is no store, and a store of an unsharded run, are refused' '
	echo hello >"$TMP/text.db" && refused "text.db" "$TMP/s0.db" "$TMP/text.db" &&
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/plain.db" --no-progress \
		--set backends.0.base_url=http://127.0.0.1:$PORT/v1 --set "$LOAD") >/dev/null 2>&1 &&
	refused "holds no shard" "$TMP/s0.db" "$TMP/plain.db"
'
test_expect_success 'report, export, compare and gate read the merged run' '
	"$LLMBENCH" merge "$TMP/m.db" --name again "$TMP"/s0.db "$TMP"/s1.db "$TMP"/s2.db >/dev/null 2>&1 &&
	"$LLMBENCH" report --db "$TMP/m.db" --run sharded --out "$TMP/rep" --format md,json >/dev/null &&
	grep -q "sim" "$TMP/rep/report.md" &&
	test "$("$LLMBENCH" export --db "$TMP/m.db" --run sharded --format jsonl | wc -l)" = 30 &&
	"$LLMBENCH" compare --db "$TMP/m.db" sharded again >cmp && grep -qi "ttft" cmp &&
	"$LLMBENCH" gate --db "$TMP/m.db" --baseline sharded --candidate again >/dev/null
'
test_expect_success 'a model matrix is split by cell: each shard runs whole backends, the merge has all' '
	B="backends=[" && for b in a b c; do
		B="$B{\"name\": \"$b\", \"type\": \"openai\", \"base_url\": \"http://127.0.0.1:$PORT/v1\", \"model\": \"m\", \"api\": \"completions\"},"
	done && B="${B%,}]" &&
	for k in 0 1; do
		(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/cell$k.db" --name cells --no-progress \
			--shard $k/2 --set "$B" --set load.requests=4 --set generation.max_tokens=4) >/dev/null 2>&1 || return 1
	done &&
	test "$(sqlite3 "$TMP/cell0.db" "SELECT group_concat(name) FROM backends")" = "a,c" &&
	test "$(sqlite3 "$TMP/cell1.db" "SELECT group_concat(name) FROM backends")" = "b" &&
	test "$(sqlite3 "$TMP/cell1.db" "SELECT split FROM shards")" = cell &&
	"$LLMBENCH" merge "$TMP/cells.db" "$TMP/cell0.db" "$TMP/cell1.db" >/dev/null &&
	test "$(sqlite3 "$TMP/cells.db" "SELECT group_concat(name) FROM (SELECT name FROM backends ORDER BY name)")" = "a,b,c" &&
	test "$(sqlite3 "$TMP/cells.db" "SELECT group_concat(value) FROM (SELECT DISTINCT value FROM levels ORDER BY value)")" = "1.0,8.0" &&
	(cd "$LB_TOP" && code_is 2 "$LLMBENCH" run "$W" --db "$TMP/cellx.db" --shard 0/4 --set "$B") 2>err &&
	grep -q "at most 3 shards" err && test ! -e "$TMP/cellx.db"
'
EVAL='eval={"qa": {"path": "datasets/qa/factual.jsonl", "max_tokens": 8, "limit": 3}, "selfcheck": {"samples": 2, "limit": 1}}'
SCRAPE='server_metrics={"interval_ms": 100}'
test_expect_success 'evaluation rows and server scrapes are merged (a cell split: every backend once)' '
	B="backends=[" && for b in a b c; do
		B="$B{\"name\": \"$b\", \"type\": \"openai\", \"base_url\": \"http://127.0.0.1:$PORT/v1\", \"model\": \"m\", \"api\": \"completions\"},"
	done && B="${B%,}]" &&
	for k in 0 1; do
		(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/ev$k.db" --name evcells --no-progress \
			--shard $k/2 --set "$B" --set load.requests=4 --set generation.max_tokens=4 \
			--set "$EVAL" --set "$SCRAPE") >/dev/null 2>&1 || return 1
	done &&
	"$LLMBENCH" merge "$TMP/ev.db" "$TMP/ev0.db" "$TMP/ev1.db" >/dev/null &&
	per_backend() { # db table -> "name:count,..." for the run
		sqlite3 "$1" "SELECT group_concat(n, \",\") FROM (SELECT b.name || \":\" || count(*) AS n
			FROM $2 t JOIN backends b ON b.id = t.backend_id AND b.run_id = t.run_id
			GROUP BY b.name ORDER BY b.name)"
	} &&
	for t in evals eval_texts; do
		want=$( { per_backend "$TMP/ev0.db" $t | tr , "\n"; per_backend "$TMP/ev1.db" $t | tr , "\n"; } | sort | paste -sd,) &&
		got=$(per_backend "$TMP/ev.db" $t) && echo "$t: $got (shards: $want)" &&
		test -n "$got" && test "$got" = "$want" || return 1
	done &&
	test "$(per_backend "$TMP/ev.db" evals)" = "a:4,b:4,c:4" &&
	test "$(sqlite3 "$TMP/ev.db" "SELECT count(*) FROM evals WHERE run_id <> (SELECT id FROM runs)")" = 0 &&
	s0=$(sqlite3 "$TMP/ev0.db" "SELECT count(*) FROM server_scrapes") &&
	s1=$(sqlite3 "$TMP/ev1.db" "SELECT count(*) FROM server_scrapes") &&
	test "$s0" -gt 0 && test "$s1" -gt 0 &&
	test "$(sqlite3 "$TMP/ev.db" "SELECT count(*) FROM server_scrapes s JOIN levels l ON l.id = s.level_id")" = $((s0 + s1)) &&
	sqlite3 "$TMP/ev.db" "SELECT value FROM summaries WHERE metric = '\''qa_correct'\''" | wc -l | grep -qx 3 &&
	"$LLMBENCH" merge "$TMP/ev.db" "$TMP/ev1.db" >/dev/null 2>&1 &&
	test "$(sqlite3 "$TMP/ev.db" "SELECT count(*) FROM evals")" = 12
'
test_expect_success 'a split load evaluates its backend in every shard: the merge keeps one evaluation' '
	S=$(soon 1.5) && pids= &&
	for k in 0 1; do
		shard "$TMP/le$k.db" $k/2 "$S" --name evload --set "$EVAL" >/dev/null 2>&1 & pids="$pids $!"
	done && wait $pids &&
	n0=$(sqlite3 "$TMP/le0.db" "SELECT count(*) FROM evals") &&
	test "$n0" = 4 && test "$(sqlite3 "$TMP/le1.db" "SELECT count(*) FROM evals")" = 4 &&
	"$LLMBENCH" merge "$TMP/le.db" "$TMP/le1.db" "$TMP/le0.db" >/dev/null &&
	test "$(sqlite3 "$TMP/le.db" "SELECT count(*) FROM evals")" = 4 &&
	test "$(sqlite3 "$TMP/le.db" "SELECT count(DISTINCT backend_id) FROM evals")" = 1 &&
	test "$(sqlite3 "$TMP/le.db" "SELECT count(*) FROM eval_texts")" = "$(sqlite3 "$TMP/le1.db" "SELECT count(*) FROM eval_texts")"
'
start_sim BURST --ttft-ms 5 --itl-ms 0 --output-tokens 8 || exit 1
test_expect_success 'chunk gaps of 0 (chunks sent at once, timed together): the merge counts them from the rows as the shards did' '
	S=$(soon 1.5) && pids= &&
	for k in 0 1; do
		shard "$TMP/z$k.db" $k/2 "$S" --set backends.0.base_url=http://127.0.0.1:$BURST/v1 \
			--set generation.max_tokens=8 >/dev/null 2>&1 & pids="$pids $!"
	done && wait $pids &&
	"$LLMBENCH" merge "$TMP/z.db" "$TMP/z0.db" "$TMP/z1.db" >/dev/null &&
	z() { sqlite3 "$1" "SELECT value || \" \" || n FROM summaries WHERE metric = '\''itl_zero_gaps'\''"; } &&
	zs=$(for k in 0 1; do z "$TMP/z$k.db"; done | awk "{ v += \$1; n += \$2 } END { print v, n }") &&
	echo "itl_zero_gaps: merged $(z "$TMP/z.db"), shards $zs" &&
	test "$(z "$TMP/z.db" | awk "{ print \$1 + 0, \$2 + 0 }")" = "$zs" && test "${zs#* }" = 210
'
start_sim SLOWCHUNK --ttft-ms 5 --itl-ms 20 --output-tokens 8 || exit 1
test_expect_success 'requests abandoned on purpose (load.cancel): neither ok nor failed in the merge, as in each shard' '
	S=$(soon 1.5) && pids= &&
	for k in 0 1; do
		shard "$TMP/c$k.db" $k/2 "$S" --set backends.0.base_url=http://127.0.0.1:$SLOWCHUNK/v1 \
			--set generation.max_tokens=8 \
			--set '"'"'load.cancel={"fraction": 0.4, "after_tokens": 2}'"'"' >/dev/null 2>&1 &
		pids="$pids $!"
	done && wait $pids &&
	"$LLMBENCH" merge "$TMP/c.db" "$TMP/c0.db" "$TMP/c1.db" >/dev/null &&
	f() { sqlite3 "$1" "SELECT coalesce(sum(value), 0) FROM summaries WHERE metric = '"'"'$2'"'"' AND level_id > 0"; } &&
	for m in requests_ok requests_failed requests_cancelled; do
		m0=$(f "$TMP/c0.db" $m) && m1=$(f "$TMP/c1.db" $m) && mm=$(f "$TMP/c.db" $m) &&
		echo "$m: shards $m0 + $m1, merged $mm" &&
		test "$(echo "$m0 + $m1" | bc)" = "$(echo "$mm + 0" | bc)" || return 1
	done &&
	test "$(f "$TMP/c.db" requests_cancelled | cut -d. -f1)" -gt 0 &&
	test "$(f "$TMP/c.db" requests_failed_cancelled)" = 0 &&
	test "$(sqlite3 "$TMP/c.db" "SELECT count(*) FROM requests WHERE status = '"'"'cancelled'"'"'")" = \
		"$(f "$TMP/c.db" requests_cancelled | cut -d. -f1)"
'
start_sim SLOW --ttft-ms 1200 --itl-ms 1 --output-tokens 2 || exit 1
test_expect_success 'a shard that falls behind its level window marks the level invalid' '
	pids= &&
	for k in 0 1; do
		(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/late$k.db" --name late --no-progress \
			--shard $k/2 --rendezvous "$TMP/rdv-late" --level-window 0.8 \
			--set backends.0.base_url=http://127.0.0.1:$SLOW/v1 --set generation.max_tokens=2 \
			--set "load={\"mode\": \"rate\", \"levels\": [10, 10], \"duration_s\": 0.5, \"requests\": 0, \"warmup\": 0, \"lag_bound_ms\": 500}") \
			>"$TMP/late$k.out" 2>&1 & pids="$pids $!"
	done && wait $pids &&
	sqlite3 "$TMP/late0.db" "SELECT idx, valid, invalid_reason FROM levels" &&
	sqlite3 "$TMP/late0.db" "SELECT invalid_reason FROM levels WHERE idx = 0" | grep -q "after its window of 0.800 s closed" &&
	sqlite3 "$TMP/late0.db" "SELECT invalid_reason FROM levels WHERE idx = 1" | grep -q "after its common start" &&
	"$LLMBENCH" merge "$TMP/late.db" "$TMP/late0.db" "$TMP/late1.db" >/dev/null &&
	test "$(sqlite3 "$TMP/late.db" "SELECT count(*) FROM levels WHERE valid = 0")" = 2 &&
	sqlite3 "$TMP/late.db" "SELECT invalid_reason FROM levels WHERE idx = 0" | grep -q "^shard 0/2: .*; shard 1/2: "
'
test_done
