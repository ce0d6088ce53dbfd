#!/usr/bin/env bash
# `llmbench run --resume` of a run of multi-turn sessions (docs/traffic.md#multi-turn-sessions,
# docs/reliability.md): stopped mid-level with kill -9 or SIGINT, the level goes on from its
# stored sessions. No stored turn is sent again; the sessions the stop cut stay cut (their
# conversations are not played again); new sessions take the next numbers and conversations,
# so the level ends with each of its 12 sessions once; the figures count every session.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 20 --itl-ms 1 --output-tokens 8 --log "$TMP/sim.log" || exit 1
MONO_OFF=$(python3 -c 'import time; print(time.monotonic_ns() - time.time_ns())') || exit 1
mono_ns() { local r=${EPOCHREALTIME/./}; echo $((r * 1000 + MONO_OFF)); }
printf '{"sessions": 12, "turns": 4, "user_tokens": 16, "think_ms": 40, "seed": 3}\n' >"$TMP/gen.json"
cat >"$TMP/w.json" <<EOF2
{"name": "sessions-resume",
 "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
               "model": "m", "api": "chat"}],
 "dataset": {"path": "$TMP/gen.json", "format": "sessions", "shuffle": false},
 "generation": {"max_tokens": 64},
 "load": {"mode": "sessions", "levels": [2]}}
EOF2
q() { sqlite3 "$TMP/$1.db" "$2"; }
sum() { q "$1" "SELECT value FROM summaries WHERE metric = '$2' AND level_id > 0"; }

# stop NAME SIGNAL N: start the run, send SIGNAL once N turns are stored (of 48), keep what
# it stored.
stop() {
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/$1.db" --name "$1" --no-progress --no-preflight \
		--drain 0.1 >"$TMP/$1.out" 2>&1 &
	local pid=$! end=$((SECONDS + 30))
	until [ "$(q "$1" "SELECT count(*) FROM requests" 2>/dev/null)" -ge "$3" ] 2>/dev/null ||
		[ $SECONDS -ge $end ]; do sleep 0.02; done
	kill -"$2" "$pid"
	wait "$pid"
	q "$1" "SELECT req_id FROM requests WHERE status = 'ok'" | sort >"$TMP/$1.before"
	echo "$1: $(wc -l <"$TMP/$1.before") turns stored ok, sessions stored:" \
		"$(q "$1" "SELECT count(DISTINCT session) FROM session_turns")," \
		"run $(q "$1" "SELECT status FROM runs")"
	test -s "$TMP/$1.before" &&
	test "$(q "$1" "SELECT count(DISTINCT session) FROM session_turns")" -lt 12
}

# resumed NAME: resume; nothing stored is sent again, and the level holds its 12 sessions once.
resumed() {
	local t0 again
	t0=$(mono_ns)
	"$LLMBENCH" run --resume "$1" --db "$TMP/$1.db" --no-progress >"$TMP/$1.resume" 2>&1 ||
		{ cat "$TMP/$1.resume"; return 1; }
	cat "$TMP/$1.resume"
	sleep 0.2 # the sim's log reaches its file every 100 ms
	awk -v t="$t0" '$3 == "recv" && $1 > t { print $2 }' "$TMP/sim.log" | sort >"$TMP/$1.after"
	again=$(comm -12 "$TMP/$1.before" "$TMP/$1.after" | wc -l)
	echo "$1: resumed, $(wc -l <"$TMP/$1.after") turns sent, $again of them already stored"
	test "$again" = 0 &&
	grep -q "resuming: .* sessions stored before the interruption" "$TMP/$1.resume" &&
	test "$(q "$1" "SELECT status FROM runs")" = done &&
	test "$(q "$1" "SELECT status FROM levels")" = done &&
	test "$(sum "$1" resumed)" = 1.0 &&
	# each session once, numbered 1..12, each conversation once
	test "$(q "$1" "SELECT count(*) || '/' || count(DISTINCT session) || '/' || min(session) || '/' ||
		max(session) || '/' || count(DISTINCT conv) FROM session_ends")" = 12/12/1/12/12 &&
	# every turn's request is there, and a session's turns are 1..k
	test "$(q "$1" "SELECT count(*) FROM session_turns st LEFT JOIN requests r
		ON r.run_id = st.run_id AND r.req_id = st.req_id WHERE r.id IS NULL")" = 0 &&
	test "$(q "$1" "SELECT count(*) FROM (SELECT session FROM session_turns GROUP BY session
		HAVING max(turn) <> count(*) OR min(turn) <> 1)")" = 0 &&
	# the figures count the sessions of both windows
	test "$(sum "$1" sessions_started)" = 12.0 &&
	test "$(q "$1" "SELECT sum(value) FROM summaries WHERE metric IN
		('sessions_completed', 'sessions_failed', 'sessions_cut')")" = 12.0 &&
	test "$(sum "$1" sessions_completed)" = \
		"$(q "$1" "SELECT count(*) || '.0' FROM session_ends WHERE outcome = 'completed'")" &&
	test "$(sum "$1" sessions_cut)" = \
		"$(q "$1" "SELECT count(*) || '.0' FROM session_ends WHERE outcome = 'cut'")" &&
	test "$(sum "$1" turn1_requests)" = \
		"$(q "$1" "SELECT count(*) || '.0' FROM session_turns st JOIN requests r ON r.req_id = st.req_id
			WHERE st.turn = 1 AND r.status = 'ok'")" &&
	test "$(q "$1" "PRAGMA integrity_check")" = ok
}

test_expect_success 'a sessions run killed with kill -9 mid-level resumes: each session once' '
	stop killed KILL 16 && test "$(q killed "SELECT status FROM runs")" = running &&
	resumed killed || { q killed "SELECT * FROM session_ends"; false; }
'
test_expect_success 'an interrupted (SIGINT) sessions run resumes the same way; its cut sessions are cut, not failed' '
	stop int INT 16 && test "$(q int "SELECT status FROM runs")" = interrupted &&
	resumed int && test "$(sum int sessions_failed)" = 0.0
'
test_expect_success 'the duration percentiles equal the completed sessions'"'"' stored spans' '
	python3 - "$TMP/killed.db" <<-\PY
	import sqlite3, sys
	db = sqlite3.connect(sys.argv[1])
	d = sorted((e - f) / 1e9 for e, f in db.execute("SELECT t_end_ns, t_first_send_ns FROM session_ends WHERE outcome = ? AND warmup = 0", ("completed",)))
	def pct(v, p):
	    h = (len(v) - 1) * p / 100.0; lo = int(h); hi = min(lo + 1, len(v) - 1)
	    return v[lo] + (v[hi] - v[lo]) * (h - lo)
	for m, p in (("session_duration_p50_s", 50), ("session_duration_p99_s", 99)):
	    (got,) = db.execute("SELECT value FROM summaries WHERE metric = ?", (m,)).fetchone()
	    assert abs(got - pct(d, p)) < 1e-9, (m, got, pct(d, p))
	print("ok", len(d))
	PY
'
test_done
