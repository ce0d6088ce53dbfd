#!/usr/bin/env bash
# Worker event loops (issue 17; docs/performance.md "Workers"): the closed loop, the open loop and
# trace replay with --workers 2 against the simulator. Every request is sent once and stored once
# (the sim's send log has one receipt per stored request, no more); both workers sent requests
# and the per-worker figures add up to the level's totals (requests, chunks); the open loop's
# schedule lag stays bounded (one schedule, arrivals handed to a worker ahead of their time); the
# trace's timestamps are kept; per request, measured minus true first-token time (send log)
# stays within a generous tolerance (a shared CI machine); SIGINT and kill -9 leave a consistent
# store; multi-turn sessions keep each session on one worker; and at 2,048 streams the
# client-bound rule holds per worker.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 20 --itl-ms 5 --output-tokens 8 --log "$TMP/sim.log" || exit 1
W=$LB_TOP/workloads/smoke.json
DB=$TMP/w.db
q() { sqlite3 "$DB" "$1"; }
run() { # name extra...
	local name=$1
	shift
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$DB" --name "$name" --no-progress \
		--no-preflight --workers 2 --set backends.0.base_url=http://127.0.0.1:$PORT/v1 \
		--set load.warmup=4 --set dataset.limit=40 "$@") >"$TMP/$name.out" 2>&1 ||
		{ cat "$TMP/$name.out"; return 1; }
}
lvl() { q "SELECT l.id FROM levels l JOIN runs r ON r.id = l.run_id WHERE r.name = '$1'"; }
fig() { # name metric
	q "SELECT value FROM summaries WHERE level_id = $(lvl "$1") AND metric = '$2'"
}
# the per-worker figures add up to the level's stored requests and chunks; both workers worked
adds_up() { # name
	local l n c wn wc w0 w1
	l=$(lvl "$1")
	n=$(q "SELECT count(*) FROM requests WHERE level_id = $l")
	c=$(q "SELECT sum(n_chunks) FROM requests WHERE level_id = $l")
	wn=$(q "SELECT sum(value) FROM summaries WHERE level_id = $l AND metric LIKE 'worker_requests:%'")
	wc=$(q "SELECT sum(value) FROM summaries WHERE level_id = $l AND metric LIKE 'worker_chunks:%'")
	w0=$(fig "$1" worker_requests:0)
	w1=$(fig "$1" worker_requests:1)
	echo "$1: $n requests ($w0 + $w1 by worker), $c chunks ($wc by worker)"
	test "$(fig "$1" workers)" = 2.0 && test "${wn%.0}" = "$n" && test "${wc%.0}" = "$c" &&
		awk -v a="$w0" -v b="$w1" 'BEGIN { exit !(a > 0 && b > 0) }' &&
		test -n "$(fig "$1" worker_cpu_s:0)" && test -n "$(fig "$1" worker_busy_pct:1)"
}
once() { # name expected: every request stored once, all ok
	local l=$(lvl "$1")
	test "$(q "SELECT count(*), count(DISTINCT req_id), count(DISTINCT seq),
		sum(status = 'ok') FROM requests WHERE level_id = $l")" = "$2|$2|$2|$2"
}

test_expect_success 'closed loop, 16 streams, 2 workers: every request stored once' '
	run closed --set "load.levels=[16]" --set load.requests=200 && once closed 204 &&
	grep -q "2 worker event loops" closed.out
'
test_expect_success 'closed loop: per-worker requests and chunks add up to the totals' '
	adds_up closed && test "$(q "SELECT valid FROM levels WHERE id = $(lvl closed)")" = 1
'
test_expect_success 'open loop, 100 req/s, 2 workers: every request stored once, figures add up' '
	run open --set load.mode=rate --set "load.levels=[100]" --set load.requests=200 \
		--set load.lag_bound_ms=50 && once open 204 && adds_up open
'
# generous: a busy CI machine can keep a thread off the CPU for tens of ms (docs/performance.md),
# and one fresh-clone run saw p99 105.8 ms (p50 0.008 ms: a stall of the machine, not the
# schedule); a wrong schedule shows as a p50 off by more, a rate off, or requests sent early
test_expect_success 'open loop: schedule lag bounded (p50 < 2 ms, p99 < 500 ms), rate kept' '
	p50=$(fig open lag_p50_ms) && p99=$(fig open lag_p99_ms) && ach=$(fig open achieved_rate) &&
	echo "lag p50 $p50 p99 $p99 ms, sends $ach/s" &&
	awk -v a="$p50" -v b="$p99" -v r="$ach" \
		"BEGIN { exit !(a != \"\" && a < 2 && b < 500 && r > 85 && r < 115) }" &&
	q "SELECT count(*) FROM requests WHERE level_id = $(lvl open) AND t_scheduled_ns > 0
		AND t_send_ns < t_scheduled_ns" >early && test "$(cat early)" = 0
'

"$LLMBENCH" trace gen --requests 60 --rate 50 --arrival constant --input-tokens 16 \
	--output-tokens 8 --reuse 0 -o "$TMP/t.jsonl" || exit 1
cat >"$TMP/trace.json" <<EOF2
{"name": "trace-workers",
 "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
               "model": "m", "api": "completions"}],
 "dataset": {"path": "$TMP/t.jsonl", "format": "trace"},
 "generation": {"max_tokens": 8},
 "load": {"mode": "trace", "levels": [2], "lag_bound_ms": 50}}
EOF2
test_expect_success 'trace replay, 2 workers: 60 requests once, at the timestamps / speedup' '
	"$LLMBENCH" run "$TMP/trace.json" --db "$DB" --name trace --no-progress --no-preflight \
		--workers 2 >trace.out 2>&1 || { cat trace.out; false; } &&
	once trace 60 && adds_up trace &&
	q "SELECT (max(t_scheduled_ns) - min(t_scheduled_ns)) / 1e6 FROM requests
		WHERE level_id = $(lvl trace)" >span && cat span &&
	awk "{ exit !(\$1 > 59 * 10 - 1 && \$1 < 59 * 10 + 1) }" span
'
test_expect_success 'the sim received each stored request once, and no other' '
	sleep 0.5 &&
	awk "\$3 == \"recv\" { print \$2 }" "$TMP/sim.log" | sort >recv &&
	q "SELECT req_id FROM requests" | sort >stored &&
	echo "$(wc -l <recv) received, $(wc -l <stored) stored" &&
	test "$(wc -l <stored)" = 468 && test -z "$(uniq -d recv)" && cmp recv stored
'
test_expect_success 'measured minus true first-token time (send log): 95% within [0, 10] ms' '
	q "SELECT req_id, t_first_ns FROM requests WHERE status = '\''ok'\''" | tr "|" " " |
		sort >measured &&
	awk "\$3 == \"first\" { print \$2, \$1 }" "$TMP/sim.log" | sort >true &&
	join measured true | awk "{ d = (\$2 - \$3) / 1e6; n++; if (d < 0 || d > 10) bad++; s += d }
		END { printf \"n=%d mean measured-true %.3f ms, outside [0,10] ms: %d\n\", n, s / n, bad;
			exit !(n == 468 && bad + 0 <= n / 20 && s / n < 3) }"
'

# multi-turn sessions (runner_sessions.c) on 2 workers: every turn of a session goes to the
# worker of its first turn, so with whole sessions each worker's count is a multiple of 4 turns
start_sim SPORT --ttft-ms 20 --itl-ms 1 --output-tokens 8 || exit 1
printf '{"sessions": 8, "turns": 4, "user_tokens": 16, "think_ms": 20, "seed": 3}\n' >"$TMP/gen.json"
cat >"$TMP/s.json" <<EOF2
{"name": "sessions-workers",
 "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$SPORT/v1",
               "model": "m", "api": "chat"}],
 "dataset": {"path": "$TMP/gen.json", "format": "sessions", "shuffle": false},
 "generation": {"max_tokens": 64},
 "load": {"mode": "sessions", "levels": [4], "workers": 2}}
EOF2
test_expect_success 'sessions on 2 workers: 32 turns once, ok; a session stays on one worker' '
	"$LLMBENCH" run "$TMP/s.json" --db "$TMP/s.db" --no-progress --no-preflight >s.out 2>&1 ||
		{ cat s.out; false; } &&
	s() { sqlite3 "$TMP/s.db" "$1"; } &&
	test "$(s "SELECT count(*), count(DISTINCT req_id), sum(status = '\''ok'\'') FROM requests")" = "32|32|32" &&
	w0=$(s "SELECT value FROM summaries WHERE metric = '\''worker_requests:0'\''") &&
	w1=$(s "SELECT value FROM summaries WHERE metric = '\''worker_requests:1'\''") &&
	echo "turns by worker: $w0 + $w1" &&
	awk -v a="$w0" -v b="$w1" "BEGIN { exit !(a + b == 32 && a % 4 == 0 && b % 4 == 0 && a > 0 && b > 0) }"
'

# Ctrl-C and kill -9 on 2 workers: the runner's thread stores as it goes, so the store is as
# consistent as with one thread (docs/reliability.md; i0902 does 50 kills on one thread)
start_sim SLOW --ttft-ms 50 --itl-ms 20 --output-tokens 100 --log "$TMP/slow.log" || exit 1
bg() { # NAME PORT
	(cd "$LB_TOP" && exec "$LLMBENCH" run "$W" --db "$TMP/$1.db" --name "$1" --no-progress \
		--no-preflight --workers 2 --drain 0.3 --set backends.0.base_url=http://127.0.0.1:$2/v1 \
		--set "load.levels=[16]" --set load.requests=100000 --set load.warmup=0 >"$TMP/$1.out" 2>&1) &
	echo $! >"$TMP/$1.pid"
}
test_expect_success 'SIGINT on 2 workers: run interrupted, in-flight requests cancelled, each stored once' '
	bg int "$SLOW" && sleep 1.5 && kill -INT "$(cat int.pid)" && { wait "$(cat int.pid)"; rc=$?; } ; echo "exit $rc" &&
	test "$rc" = 3 && s() { sqlite3 "$TMP/int.db" "$1"; } &&
	test "$(s "PRAGMA integrity_check")" = ok && test "$(s "SELECT status FROM runs")" = interrupted &&
	s "SELECT status, count(*) FROM requests GROUP BY status" &&
	test "$(s "SELECT count(*) = count(DISTINCT req_id) FROM requests")" = 1 &&
	test "$(s "SELECT count(*) FROM requests WHERE status = '\''cancelled'\''")" -ge 1 &&
	test "$(s "SELECT sum(value) FROM summaries WHERE metric LIKE '\''worker_requests:%'\''")" = \
		"$(s "SELECT count(*) FROM requests").0"
'
test_expect_success 'load.cancel on 2 workers, open loop: abandoned 100-150 ms after the send' '
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/cancel.db" --name cancel --no-progress \
		--no-preflight --workers 2 --set backends.0.base_url=http://127.0.0.1:$SLOW/v1 \
		--set load.mode=rate --set "load.levels=[50]" --set load.requests=24 --set load.warmup=0 \
		--set load.lag_bound_ms=100 \
		--set load.cancel="{\"fraction\": 0.5, \"after_ms\": 100}") >cancel.out 2>&1 ||
		{ cat cancel.out; false; } &&
	c() { sqlite3 "$TMP/cancel.db" "$1"; } &&
	n=$(c "SELECT count(*) FROM requests WHERE status = '\''cancelled'\''") && echo "$n cancelled" &&
	c "SELECT min((t_end_ns - t_send_ns) / 1e6), max((t_end_ns - t_send_ns) / 1e6) FROM requests
		WHERE status = '\''cancelled'\''" && test "$n" -ge 4 && test "$n" -le 20 &&
	test "$(c "SELECT count(*) FROM requests WHERE status = '\''cancelled'\''
		AND (t_end_ns - t_send_ns) / 1e6 BETWEEN 100 AND 150")" = "$n" &&
	test "$(c "SELECT count(*) FROM requests")" = 24
'
MONO_OFF=$(python3 -c 'import time; print(time.monotonic_ns() - time.time_ns())') || exit 1
mono_ns() { local r=${EPOCHREALTIME/./}; echo $((r * 1000 + MONO_OFF)); }
test_expect_success 'kill -9 on 2 workers (3 times): the store is intact and holds what the sim finished' '
	for d in 0.8 1.3 1.9; do
		t0=$(mono_ns) && bg k$d "$PORT" && sleep $d && tk=$(mono_ns) && kill -9 "$(cat k$d.pid)"
		wait "$(cat k$d.pid)" 2>/dev/null
		sleep 0.3 # the sim log reaches its file every 100 ms
		awk -v a="$t0" -v b="$((tk - 500000000))" "\$3 == \"done\" && \$1 > a && \$1 < b { print \$2 }" \
			"$TMP/sim.log" | sort -u >want
		test "$(sqlite3 "$TMP/k$d.db" "PRAGMA integrity_check")" = ok || return 1
		sqlite3 "$TMP/k$d.db" "SELECT req_id FROM requests" | sort >have
		echo "killed at $d s: $(wc -l <have) stored, $(wc -l <want) finished 0.5 s before," \
			"$(comm -23 want have | wc -l) of them missing"
		test "$(wc -l <want)" -gt 0 && test -z "$(comm -23 want have)" && test -z "$(uniq -d have)" || return 1
	done
'

# the client-bound rule per worker (docs/METRICS.md "Validity"), honest either way: a level left
# valid must have read the first tokens in time (measured minus the sim's logged first send; the
# sim itself may be late on a shared machine, which is the server's time, not an error). A
# saturated client is hundreds of ms late (175 ms at p50 on one thread, issue 17); under ASan a
# worker 88% busy, just under the bound, was 18 ms late at p50, hence the 50 ms margin.
start_sim HPORT --ttft-ms 100 --itl-ms 20 --output-tokens 16 --log "$TMP/heavy.log" || exit 1
test_expect_success '2,048 streams on 2 workers: a worker client-bound and the level invalid, or honest' '
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/heavy.db" --name heavy --no-progress \
		--no-preflight --workers 2 --set backends.0.base_url=http://127.0.0.1:$HPORT/v1 \
		--set "load.levels=[2048]" --set load.requests=4096 --set load.warmup=0) >heavy.out 2>&1 ||
		{ cat heavy.out; false; } &&
	h() { sqlite3 "$TMP/heavy.db" "$1"; } &&
	valid=$(h "SELECT valid FROM levels") && reason=$(h "SELECT invalid_reason FROM levels") &&
	b=$(h "SELECT max(value) FROM summaries WHERE metric LIKE '\''worker_busy_pct:%'\''") &&
	sleep 0.5 && h "SELECT req_id, t_first_ns FROM requests WHERE status = '\''ok'\''" |
		tr "|" " " | sort >hm &&
	awk "\$3 == \"first\" { print \$2, \$1 }" "$TMP/heavy.log" | sort >ht &&
	e=$(join hm ht | awk "{ print (\$2 - \$3) / 1e6 }" | sort -n | awk "{ v[NR] = \$1 } END { print v[int(NR / 2) + 1] }") &&
	echo "valid $valid, busiest worker $b%, TTFT error p50 $e ms; $reason" &&
	if [ "$valid" = 0 ]; then
		echo "$reason" | grep -q "^client-bound: worker [01] was busy [0-9]*% of .* s (CPU .* s + run-queue wait .* s; bound 90%)" &&
		awk -v b="$b" "BEGIN { exit !(b >= 90) }"
	else
		awk -v b="$b" -v e="$e" "BEGIN { exit !(b < 90 && e < 50) }"
	fi
'
test_done
