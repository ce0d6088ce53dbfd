#!/usr/bin/env bash
# Crash safety and signals (docs/reliability.md):
# - kill -9 at 50 random points (0.2 to 1.5 s after start): the database always opens, passes
#   PRAGMA integrity_check and holds every request the sim finished more than 0.5 s (the 200 ms
#   commit interval and a margin) before the kill; half the trials append to one store that
#   earlier kills left behind, half start a new one.
# - SIGTERM and SIGHUP behave like SIGINT; a second SIGINT cancels at once; the drain is bounded.
. "$(dirname "$0")/../lib.sh"

TRIALS=${LB_KILL_TRIALS:-50}
W=$LB_TOP/workloads/smoke.json
start_sim PORT --ttft-ms 5 --itl-ms 2 --output-tokens 20 --log "$TMP/sim.log" || exit 1
start_sim SLOW --ttft-ms 50 --itl-ms 200 --output-tokens 200 || exit 1
# CLOCK_MONOTONIC ns, as the sim's log writes them: bash's $EPOCHREALTIME plus an offset taken
# once (python3's time.monotonic_ns() reads the same clock), which saves a process per reading.
MONO_OFF=$(python3 -c 'import time; print(time.monotonic_ns() - time.time_ns())') || exit 1
mono_ns() { local r=${EPOCHREALTIME/./}; echo $((r * 1000 + MONO_OFF)); }
# the trials' delays, uniform in [0.2, 1.5] s, seeded
python3 -c 'import random; r = random.Random(9); print("\n".join("%.3f" % r.uniform(0.2, 1.5) for _ in range(1000)))' \
	>"$TMP/delays" || exit 1

# bg_run DB NAME PORT [options]: a run in the background; its pid in NAME.pid.
# --no-preflight: every request the sim finished must be a stored one (the comparison below),
# and the signals must reach the level, not a 40 s pre-flight request to the slow sim.
bg_run() {
	local db=$1 name=$2 port=$3
	shift 3
	(cd "$LB_TOP" && exec "$LLMBENCH" run "$W" --db "$db" --name "$name" --no-progress --no-preflight \
		--set "backends.0.base_url=http://127.0.0.1:$port/v1" --set 'load.levels=[8]' \
		--set load.requests=100000 --set load.warmup=0 "$@" >"$TMP/$name.out" 2>&1) &
	echo $! >"$TMP/$name.pid"
}

# trial I: start, sleep 0.2..1.5 s, kill -9, then check the store against the sim's log.
trial() {
	local i=$1 db name pid t0 tk d ids missing
	name=k$i
	if [ $((i % 2)) = 0 ]; then db=$TMP/shared.db; else db=$TMP/k$i.db; fi
	d=$(sed -n "${i}p" "$TMP/delays")
	t0=$(mono_ns)
	bg_run "$db" "$name" "$PORT"
	pid=$(cat "$TMP/$name.pid")
	sleep "$d"
	tk=$(mono_ns)
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	sleep 0.15 # the sim's log reaches its file every 100 ms
	# requests the sim finished in this trial, more than 0.5 s before the kill
	awk -v a="$t0" -v b="$((tk - 500000000))" '$3 == "done" && $1 > a && $1 < b { print $2 }' \
		"$TMP/sim.log" | sort -u >"$TMP/$name.want"
	if [ ! -e "$db" ]; then
		echo "trial $i: killed after ${d}s, before the store existed"
		test ! -s "$TMP/$name.want"
		return
	fi
	test "$(sqlite3 "$db" "PRAGMA integrity_check")" = ok || { echo "trial $i: integrity"; return 1; }
	sqlite3 "$db" "SELECT req_id FROM requests JOIN runs ON runs.id = requests.run_id
		WHERE runs.name = '$name'" | sort -u >"$TMP/$name.have" || return 1
	missing=$(comm -23 "$TMP/$name.want" "$TMP/$name.have" | wc -l)
	echo "trial $i: killed after ${d}s, $(wc -l <"$TMP/$name.have") stored," \
		"$(wc -l <"$TMP/$name.want") finished > 0.5 s before, $missing missing"
	test "$missing" = 0 || return 1
	# a killed run stays 'running' (nothing could mark it); the store is usable for the next
	st=$(sqlite3 "$db" "SELECT status FROM runs WHERE name = '$name'")
	test -z "$st" || test "$st" = running
}

test_expect_success "kill -9 at $TRIALS random points: the store opens, is intact, keeps what finished" '
	fails=0 &&
	for i in $(seq $TRIALS); do trial $i || fails=$((fails + 1)); done >"$TMP/trials.txt" &&
	cat "$TMP/trials.txt" && cp "$TMP/trials.txt" "${LB_KILL_LOG:-/dev/null}" &&
	echo "$fails of $TRIALS trials failed" && test $fails = 0 &&
	test "$(sqlite3 "$TMP/shared.db" "SELECT count(*) FROM runs")" -ge $((TRIALS / 2 - 2)) &&
	"$LLMBENCH" runs --db "$TMP/shared.db" >/dev/null
'

# signal_run NAME SIG: a run with a 5 s drain against the slow sim (a request takes ~40 s),
# sent SIG after 1 s; the time from the signal to the exit in NAME.secs, the exit code in NAME.rc.
signal_run() {
	local name=$1 sig=$2 pid t0 t1 rc
	bg_run "$TMP/$name.db" "$name" "$SLOW" --drain "${3:-5}"
	pid=$(cat "$TMP/$name.pid")
	sleep 1
	t0=$(mono_ns)
	kill -"$sig" "$pid"
	if [ -n "${4:-}" ]; then sleep "$4"; kill -0 "$pid" && kill -"$sig" "$pid"; t0=$(mono_ns); fi
	wait "$pid"
	rc=$?
	t1=$(mono_ns)
	echo "$rc" >"$TMP/$name.rc"
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }' >"$TMP/$name.secs"
	echo "$name: exit $rc, $(cat "$TMP/$name.secs") s after the (last) signal"
}
interrupted_ok() { # NAME: marked interrupted, intact, in-flight requests stored as cancelled
	test "$(sqlite3 "$TMP/$1.db" "PRAGMA integrity_check")" = ok &&
	test "$(sqlite3 "$TMP/$1.db" "SELECT status FROM runs")" = interrupted &&
	test "$(sqlite3 "$TMP/$1.db" "SELECT count(*) FROM requests WHERE status = 'cancelled'")" = 8 &&
	test "$(sqlite3 "$TMP/$1.db" "SELECT value FROM summaries WHERE metric = 'requests_failed_cancelled'")" = 8.0 &&
	test "$(sqlite3 "$TMP/$1.db" "SELECT invalid_reason FROM levels")" = "no successful request (stopped before any measured request ended; 8 cut by the stop)" &&
	grep -q interrupted "$TMP/$1.out"
}

test_expect_success 'SIGTERM drains for --drain, then cancels: exit 3, run interrupted' '
	signal_run term TERM 1 && test "$(cat "$TMP/term.rc")" = 3 &&
	awk -v s="$(cat "$TMP/term.secs")" "BEGIN { exit !(s >= 0.9 && s < 4) }" &&
	interrupted_ok term
'
test_expect_success 'SIGINT behaves the same' '
	signal_run int INT 1 && test "$(cat "$TMP/int.rc")" = 3 &&
	awk -v s="$(cat "$TMP/int.secs")" "BEGIN { exit !(s >= 0.9 && s < 4) }" &&
	interrupted_ok int
'
test_expect_success 'SIGHUP (a closed terminal) behaves the same' '
	signal_run hup HUP 1 && test "$(cat "$TMP/hup.rc")" = 3 &&
	awk -v s="$(cat "$TMP/hup.secs")" "BEGIN { exit !(s >= 0.9 && s < 4) }" &&
	interrupted_ok hup
'
test_expect_success 'a second SIGINT during a 30 s drain cancels at once' '
	signal_run twice INT 30 0.5 && test "$(cat "$TMP/twice.rc")" = 3 &&
	awk -v s="$(cat "$TMP/twice.secs")" "BEGIN { exit !(s < 2) }" &&
	interrupted_ok twice
'
test_done
