#!/usr/bin/env bash
# Multi-turn sessions against the simulator (known truth, docs/traffic.md#multi-turn-sessions):
# each turn resends the whole history with the sim's own replies (prompt tokens grow by the
# reply; a scripted reply shows up in the next turn's prompt), so the sim's prefix cache hits the
# previous turn's whole blocks and turn k's TTFT is lower by exactly that saving; think time
# separates a reply's end from the next send; users = sessions in flight; session_rate starts
# sessions on the open loop's schedule; bad conversations fail before any request.
. "$(dirname "$0")/../lib.sh"

# 50 ms TTFT, 10 ms saved per cached block of 16 words, 8-word replies
start_sim PORT --ttft-ms 50 --itl-ms 1 --output-tokens 8 --prefix-cache-ms-per-block 10 \
	--prefix-block-tokens 16 --log "$TMP/sim.log" || exit 1
printf '{"sessions": 6, "turns": 4, "user_tokens": 32, "think_ms": 50, "seed": 3}\n' >"$TMP/gen.json"
cat >"$TMP/w.json" <<EOF2
{"name": "sessions",
 "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
               "model": "m", "api": "chat"}],
 "dataset": {"path": "$TMP/gen.json", "format": "sessions", "shuffle": false},
 "generation": {"max_tokens": 64},
 "load": {"mode": "sessions", "levels": [2]}}
EOF2
q() { sqlite3 "$TMP/$1.db" "$2"; }
sum() { q "$1" "SELECT value FROM summaries WHERE metric = '$2' AND level_id > 0"; }
turns() { # db: session|turn|send|first|end|prompt tokens|ttft, by session and turn
	q "$1" "SELECT st.session, st.turn, r.t_send_ns, r.t_first_ns, r.t_end_ns, r.prompt_tokens,
		r.ttft_ms FROM session_turns st JOIN requests r ON r.run_id = st.run_id
		AND r.req_id = st.req_id ORDER BY st.session, st.turn"
}

test_expect_success '2 users play 6 generated conversations of 4 turns: 24 turns ok' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/a.db" --no-progress --no-preflight >out 2>&1; rc=$?
	cat out && test $rc = 0 &&
	test "$(q a "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = 24 &&
	test "$(q a "SELECT count(DISTINCT session) || '\''/'\'' || max(turn) FROM session_turns")" = 6/4 &&
	test "$(q a "SELECT mode || value FROM levels")" = sessions2.0 &&
	test "$(sum a sessions_completed)" = 6.0 && grep -q "turn  2:" out
'
test_expect_success 'the history holds the sim replies: prompt tokens 32, 72, 112, 152 (32 per turn + 8 per reply)' '
	turns a >t && awk -F"|" "{ if (\$6 != 32 * \$2 + 8 * (\$2 - 1)) { print; bad = 1 } } END { exit bad }" t &&
	grep -c " recv 152$" "$TMP/sim.log" | grep -qx 6
'
# turn k hits the blocks of turn k-1 whole: floor(32/16) = 2, floor(72/16) = 4, floor(112/16) = 7
test_expect_success 'the prefix cache: TTFT by turn 50, 30, 10, 0 ms (50 - 10 x cached blocks)' '
	for k in 1 2 3 4; do printf "%s " "$(sum a turn${k}_ttft_p50_ms)"; done >p50 && cat p50 && echo &&
	awk "{ exit !(\$1 >= 50 && \$1 < 90 && \$2 >= 30 && \$2 < 70 && \$3 >= 10 && \$3 < 50 &&
		\$4 >= 0 && \$4 < 40 && \$2 < \$1 - 10 && \$3 < \$2 - 10) }" p50 &&
	test "$(sum a turn4_prompt_tokens_mean)" = 152.0 &&
	awk -v l="$(sum a turn_later_ttft_p50_ms)" "BEGIN { exit !(l >= 0 && l < 50) }"
'
test_expect_success 'think time: each turn leaves 50 ms (+ < 60 ms) after the previous reply ended' '
	awk -F"|" "\$1 == s && \$2 > 1 { g = (\$3 - e) / 1e6; if (g < 50 || g > 110) { print g; bad = 1 } }
		{ s = \$1; e = \$5 } END { exit bad }" t
'
test_expect_success 'the report has the table by turn' '
	"$LLMBENCH" report --db "$TMP/a.db" --out rep --format md >/dev/null 2>&1 &&
	grep -A14 "## Sessions by turn" rep/report.md >tbl && cat tbl &&
	grep -q "^| 4 | 6 | [0-9.]* | [0-9.]* | 152.0 |$" tbl &&
	"$LLMBENCH" report --db "$TMP/a.db" --out rep --format html >/dev/null 2>&1 &&
	grep -q "<h2 id=\"sessions\">Sessions by turn</h2>" rep/index.html &&
	grep -q "<tr><td class=\"num\">4</td><td class=\"num\">6</td><td class=\"num\">[0-9.]*</td><td class=\"num\">[0-9.]*</td><td class=\"num\">152.0</td></tr>" rep/index.html
'
# a session spans its first send to its last end: never more than 2 at once, and 2 at times
test_expect_success 'export: a sessions run has session, conversation and turn per request' '
	"$LLMBENCH" export --db "$TMP/a.db" --run "$(q a "SELECT name FROM runs")" >x.csv &&
	head -1 x.csv | grep -q ",energy_j_attributed,session,conversation,turn$" &&
	test "$(tail -n +2 x.csv | wc -l)" = 24 &&
	python3 - x.csv "$TMP/a.db" <<-\PY &&
	import csv, sqlite3, sys
	rows = list(csv.DictReader(open(sys.argv[1])))
	got = sorted((int(r["request_id"]), int(r["session"]), r["conversation"], int(r["turn"])) for r in rows)
	want = sorted(sqlite3.connect(sys.argv[2]).execute("SELECT req_id, session, conv, turn FROM session_turns"))
	assert got == [(a, b, c, d) for a, b, c, d in want], (got[:3], want[:3])
	assert {r["turn"] for r in rows} == {"1", "2", "3", "4"}
	PY
	"$LLMBENCH" export --db "$TMP/a.db" --run "$(q a "SELECT name FROM runs")" --format jsonl >x.jsonl &&
	python3 -c "import json,sys; r=[json.loads(l) for l in open(\"x.jsonl\")]; assert len(r)==24 and all(isinstance(x[\"turn\"], int) and x[\"session\"]>=1 for x in r)" &&
	"$LLMBENCH" export --db "$TMP/a.db" --run "$(q a "SELECT name FROM runs")" --format md | head -1 | grep -q "| turn |$"
'
test_expect_success 'export --sessions: one row per session, its outcome, turns, duration and TTFTs' '
	name=$(q a "SELECT name FROM runs") &&
	"$LLMBENCH" export --db "$TMP/a.db" --run "$name" --sessions >s.csv &&
	cat s.csv &&
	python3 - s.csv "$TMP/a.db" <<-\PY &&
	import csv, sqlite3, sys
	rows = list(csv.DictReader(open(sys.argv[1])))
	assert len(rows) == 6, len(rows)
	db = sqlite3.connect(sys.argv[2])
	for r in rows:
	    assert r["outcome"] == "completed" and r["turns_answered"] == "4" and r["warmup"] == "0", r
	    first, end = db.execute("SELECT t_first_send_ns, t_end_ns FROM session_ends WHERE session = ?",
	                            (int(r["session"]),)).fetchone()
	    assert abs(float(r["duration_ms"]) - (end - first) / 1e6) < 1e-6, r
	    assert 45 <= float(r["first_ttft_ms"]) <= 90, r   # the sim: 50 ms for turn 1
	    assert 8 <= float(r["later_ttft_mean_ms"]) <= 35, r  # 30, 10, 0 ms: 13.3 ms
	assert sorted(r["conversation"] for r in rows) == sorted(x for (x,) in db.execute("SELECT conv FROM session_ends"))
	PY
	"$LLMBENCH" export --db "$TMP/a.db" --run "$name" --sessions --format json >s.json &&
	python3 -c "import json, csv; j = json.load(open(\"s.json\")); h = next(csv.reader(open(\"s.csv\"))); assert len(j) == 6 and list(j[0]) == h and j[0][\"warmup\"] is False, (list(j[0]), h)" &&
	"$LLMBENCH" export --db "$TMP/a.db" --run "$name" --sessions --format md >s.md &&
	test "$(wc -l <s.md)" = 8 &&
	{ "$LLMBENCH" export --db "$TMP/a.db" --run "$name" --sessions --chunks --format json 2>err; test $? = 2; } &&
	grep -q "sessions takes" err
'
test_expect_success 'users = sessions in flight: at most 2 sessions overlap, and 2 do' '
	q a "SELECT st.session, min(r.t_send_ns), max(r.t_end_ns) FROM session_turns st
		JOIN requests r ON r.run_id = st.run_id AND r.req_id = st.req_id GROUP BY st.session" >spans &&
	awk -F"|" "{ s[NR] = \$2; e[NR] = \$3 } END { for (i = 1; i <= NR; i++) { n = 0;
		for (j = 1; j <= NR; j++) if (s[j] <= s[i] && e[j] > s[i]) n++; if (n > m) m = n }
		print m; exit !(m == 2) }" spans &&
	test "$(sum a sessions_inflight_peak)" = 2.0
'

test_expect_success 'warm-up counts sessions: 2 warm-up sessions, then 3 measured ones' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/wu.db" --no-progress --no-preflight \
		--set load.warmup=2 --set load.sessions=3 >out 2>&1 || { cat out; false; } &&
	test "$(q wu "SELECT count(*) FROM requests WHERE warmup = 1")" = 8 &&
	test "$(q wu "SELECT count(*) FROM requests WHERE warmup = 0")" = 12 &&
	test "$(sum wu sessions_started)" = 3.0 && test "$(sum wu turn1_requests)" = 3.0 &&
	q wu "SELECT max(r.t_end_ns) < (SELECT min(t_send_ns) FROM requests WHERE warmup = 0)
		FROM requests r WHERE r.warmup = 1" | grep -qx 1 &&
	wname=$(q wu "SELECT name FROM runs") &&
	"$LLMBENCH" export --db "$TMP/wu.db" --run "$wname" --sessions >wu.csv &&
	test "$(tail -n +2 wu.csv | cut -d, -f9 | sort | uniq -c | tr -s " " | tr "\n" ";")" = " 3 0; 2 1;" &&
	"$LLMBENCH" export --db "$TMP/wu.db" --run "$wname" --sessions --no-warmup >wu2.csv &&
	test "$(tail -n +2 wu2.csv | wc -l)" = 3
'

# completions: the concatenated text; a scripted reply to turn 1 is what turn 2 must carry
cat >"$TMP/answers.jsonl" <<'EOF2'
{"match": "MARKER-R1", "answer": "saw-the-reply"}
{"match": "first-question", "answer": "MARKER-R1 is my reply"}
EOF2
cat >"$TMP/conv.json" <<'EOF2'
[{"id": "c1", "conversations": [{"from": "human", "value": "first-question"},
   {"from": "gpt", "value": "a reply from the file, never sent"},
   {"from": "human", "value": "second"}]}]
EOF2
start_sim PORT2 --ttft-ms 5 --answers "$TMP/answers.jsonl" || exit 1
test_expect_success 'completions: turn 2 carries the model reply, not the file gpt turn' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/c.db" --no-progress --no-preflight --keep-text \
		--set dataset.path="$TMP/conv.json" --set backends.0.api=completions \
		--set backends.0.base_url=http://127.0.0.1:$PORT2/v1 --set load.levels=[1] >out 2>&1 ||
		{ cat out; false; } &&
	q c "SELECT st.turn, r.output_text FROM session_turns st JOIN requests r ON r.run_id = st.run_id
		AND r.req_id = st.req_id ORDER BY st.turn" >texts && cat texts &&
	test "$(sed -n 1p texts)" = "1| MARKER-R1 is my reply" && test "$(sed -n 2p texts)" = "2| saw-the-reply" &&
	test "$(q c "SELECT count(*) FROM session_turns WHERE conv = '\''c1'\''")" = 2
'

# open loop: 5 sessions of 2 turns started 100 ms apart, each thinking 300 ms between turns
printf '{"sessions": 5, "turns": 2, "user_tokens": 4, "think_ms": 300}\n' >"$TMP/rate.json"
test_expect_success 'session_rate: sessions start on the schedule (100 ms apart at 10/s), overlapping' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/r.db" --no-progress --no-preflight \
		--set dataset.path="$TMP/rate.json" --set load.mode=session_rate --set load.levels=[10] \
		--set load.arrival=constant --set load.lag_bound_ms=30 >out 2>&1 || { cat out; false; } &&
	q r "SELECT (max(r.t_scheduled_ns) - min(r.t_scheduled_ns)) / 1e6 FROM session_turns st
		JOIN requests r ON r.run_id = st.run_id AND r.req_id = st.req_id WHERE st.turn = 1" >span &&
	cat span && awk "{ exit !(\$1 > 399 && \$1 < 401) }" span &&
	test "$(q r "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = 10 &&
	awk -v p="$(sum r sessions_inflight_peak)" "BEGIN { exit !(p >= 3) }" &&
	test "$(q r "SELECT mode FROM levels")" = session_rate
'

printf '[\n{"conversations": [{"from": "human", "value": "a"}]},\n{"conversations": [{"from": "gpt", "value": "b"}]}\n]\n' >"$TMP/bad.json"
test_expect_success 'a conversation without a user turn: exit 2 naming file:line, nothing sent' '
	n0=$(grep -c recv "$TMP/sim.log")
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/bad.db" --no-progress \
		--set dataset.path="$TMP/bad.json" >out 2>&1; rc=$?
	cat out && test $rc = 2 && grep -q "bad.json'"'"':3: a conversation without a user turn" out &&
	sleep 0.3 && test "$(grep -c recv "$TMP/sim.log")" = "$n0"
'
test_expect_success 'load keys: a typo gets "did you mean", sessions need format sessions' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/bad.db" --set load.sesions=3 >out 2>&1; rc=$?
	cat out && test $rc = 2 && grep -q "did you mean '"'"'sessions'"'"'" out &&
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/bad.db" --set dataset.format=lines >out 2>&1; rc=$?
	cat out && test $rc = 2 && grep -q "set dataset.format to \"sessions\"" out &&
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/bad.db" --set load.requests=5 >out 2>&1; rc=$?
	cat out && test $rc = 2 && grep -q "load.requests does not apply to mode sessions" out
'

# sharded (docs/scale-out.md): a split load gives each shard half the users and half the
# conversations (i mod 2), and merge makes one run of them; a cell split keeps a shard's figures
soon() { python3 -c 'import sys, time; print("@%.3f" % (time.time() + float(sys.argv[1])))' "$1"; }
pct() { # p: the percentile of stdin's numbers, interpolated as llmbench does
	python3 -c '
import sys
v = sorted(float(x) for x in sys.stdin.read().split()); p = float(sys.argv[1])
r = p / 100 * (len(v) - 1); lo = int(r)
print(v[lo] + (r - lo) * (v[min(lo + 1, len(v) - 1)] - v[lo]))' "$1"
}
test_expect_success 'two shards of a sessions load: 1 user and 3 conversations each' '
	S=$(soon 1.5) &&
	for k in 0 1; do
		"$LLMBENCH" run "$TMP/w.json" --db "$TMP/sh$k.db" --name sh --no-progress --no-preflight \
			--shard $k/2 --start-at "$S" >"$TMP/sh$k.out" 2>&1 &
	done; wait;
	cat "$TMP/sh0.out" "$TMP/sh1.out" &&
	for k in 0 1; do
		test "$(q sh$k "SELECT value FROM levels")" = 1.0 &&
		test "$(q sh$k "SELECT count(DISTINCT conv) || '\''/'\'' || count(*) FROM session_turns")" = 3/12 &&
		test "$(sum sh$k sessions_completed)" = 3.0 || return 1
	done &&
	test "$(q sh0 "SELECT group_concat(DISTINCT conv) FROM session_turns")" != \
		"$(q sh1 "SELECT group_concat(DISTINCT conv) FROM session_turns")"
'
test_expect_success 'merged: 6 sessions of 4 turns, counts and turns recomputed from the rows' '
	"$LLMBENCH" merge "$TMP/shm.db" "$TMP/sh0.db" "$TMP/sh1.db" >out 2>&1 || { cat out; false; } &&
	test "$(q shm "SELECT count(DISTINCT session) || '\''/'\'' || count(DISTINCT conv) || '\''/'\'' || count(*) FROM session_turns")" = 6/6/24 &&
	test "$(q shm "SELECT count(*) FROM session_turns t JOIN requests r ON r.run_id = t.run_id AND r.req_id = t.req_id WHERE r.status = '\''ok'\''")" = 24 &&
	test "$(sum shm sessions_started)" = 6.0 && test "$(sum shm sessions_completed)" = 6.0 &&
	test "$(sum shm turn1_requests)" = 6.0 && test "$(sum shm turn4_prompt_tokens_mean)" = 152.0 &&
	test "$(sum shm session_turns_mean)" = 4.0 &&
	for k in 1 4; do
		q shm "SELECT r.ttft_ms FROM session_turns t JOIN requests r ON r.run_id = t.run_id
			AND r.req_id = t.req_id WHERE t.turn = $k" >v &&
		awk -v a="$(sum shm turn${k}_ttft_p50_ms)" -v b="$(pct 50 <v)" \
			"BEGIN { d = a - b; exit !(d < 1e-9 && d > -1e-9) }" &&
		awk -v a="$(sum shm turn${k}_ttft_p99_ms)" -v b="$(pct 99 <v)" \
			"BEGIN { d = a - b; exit !(d < 1e-9 && d > -1e-9) }" || return 1
	done
'
test_expect_success 'session_ends: one row per session; its durations give the runner'"'"'s figures' '
	test "$(q a "SELECT count(*) || '\''/'\'' || sum(outcome = '\''completed'\'') || '\''/'\'' || sum(turns_ok) FROM session_ends")" = 6/6/24 &&
	q a "SELECT (t_end_ns - t_first_send_ns) / 1e9 FROM session_ends WHERE warmup = 0" >d &&
	for p in 50 99; do
		awk -v a="$(sum a session_duration_p${p}_s)" -v b="$(pct $p <d)" \
			"BEGIN { d = a - b; exit !(d < 1e-12 && d > -1e-12) }" || return 1
	done &&
	test "$(q wu "SELECT sum(warmup) || '\''/'\'' || count(*) FROM session_ends")" = 2/5
'
test_expect_success 'merged: durations and the in-flight peak from the shards'"'"' session_ends' '
	test "$(q shm "SELECT count(DISTINCT session) || '\''/'\'' || count(*) FROM session_ends")" = 6/6 &&
	q shm "SELECT (t_end_ns - t_first_send_ns) / 1e9 FROM session_ends WHERE outcome = '\''completed'\''" >d &&
	for p in 50 99; do
		awk -v a="$(sum shm session_duration_p${p}_s)" -v b="$(pct $p <d)" \
			"BEGIN { d = a - b; exit !(d < 1e-12 && d > -1e-12) }" || return 1
	done &&
	test "$(sum shm sessions_inflight_peak)" = 2.0 &&
	awk -v m="$(sum shm session_duration_mean_s)" "BEGIN { exit !(m > 0.2 && m < 5) }"
'
test_expect_success 'session_rate split: each shard half the rate, merged 6 sessions' '
	S=$(soon 1.5) &&
	for k in 0 1; do
		"$LLMBENCH" run "$TMP/w.json" --db "$TMP/sr$k.db" --name sr --no-progress --no-preflight \
			--shard $k/2 --start-at "$S" --set load.mode=session_rate --set load.levels=[20] \
			>"$TMP/sr$k.out" 2>&1 &
	done; wait;
	cat "$TMP/sr0.out" "$TMP/sr1.out" &&
	test "$(q sr0 "SELECT value FROM levels")" = 10.0 &&
	"$LLMBENCH" merge "$TMP/srm.db" "$TMP/sr0.db" "$TMP/sr1.db" >out 2>&1 || { cat out; false; } &&
	test "$(sum srm sessions_completed)" = 6.0 && test "$(q srm "SELECT value FROM levels")" = 20.0
'
test_expect_success 'a cell split: each backend whole in one shard, its session figures kept' '
	python3 - "$TMP/w.json" "$TMP/w2.json" <<PY &&
import json, sys
w = json.load(open(sys.argv[1])); b = dict(w["backends"][0]); b["name"] = "sim2"
w["backends"].append(b); json.dump(w, open(sys.argv[2], "w"))
PY
	for k in 0 1; do
		"$LLMBENCH" run "$TMP/w2.json" --db "$TMP/c$k.db" --name cells --no-progress \
			--no-preflight --shard $k/2 >"$TMP/c$k.out" 2>&1 || { cat "$TMP/c$k.out"; return 1; }
	done &&
	"$LLMBENCH" merge "$TMP/cm.db" "$TMP/c0.db" "$TMP/c1.db" >out 2>&1 || { cat out; false; } &&
	test "$(q cm "SELECT count(*) FROM session_turns")" = 48 &&
	for k in 0 1; do
		test "$(q c$k "SELECT value FROM summaries WHERE metric = '\''session_duration_p99_s'\''")" = \
			"$(q cm "SELECT s.value FROM summaries s JOIN backends b ON b.id = s.backend_id
				WHERE s.metric = '\''session_duration_p99_s'\'' AND b.name = '\''$(q c$k "SELECT name FROM backends")'\''")" &&
		test "$(q cm "SELECT count(*) FROM summaries WHERE metric = '\''sessions_inflight_peak'\'' AND value = 2")" = 2 ||
		return 1
	done
'
test_done
