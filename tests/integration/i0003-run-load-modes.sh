#!/usr/bin/env bash
# Load modes: the SLA search lands on the simulator's known capacity; an open loop capped at C
# never has more than C in flight (queue and drop policies, reported); a sweep runs synchronous,
# saturation and interpolated rates; ramp-up, time-based warm-up, cool-down and error-rate stops.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 20 --itl-ms 5 --output-tokens 10 --capacity 8 || exit 1
W=$LB_TOP/workloads/smoke.json
run() { # db name sets...
	local db=$1 name=$2
	shift 2
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$db" --name "$name" --no-progress \
		--set backends.0.base_url=http://127.0.0.1:$PORT/v1 --set generation.max_tokens=10 "$@")
}
q() { sqlite3 "$TMP/$1.db" "$2"; }

test_expect_success 'SLA search over concurrency finds the capacity of 8 (within one step)' '
	run "$TMP/sla.db" sla --set load="{\"mode\": \"sla\", \"requests\": 48, \"warmup\": 0,
		\"search\": {\"over\": \"concurrency\", \"start\": 1, \"max\": 64, \"steps\": 4, \"target\": 0.99}}" \
		--set slo="{\"ttft_ms\": 45}" >/dev/null &&
	v=$(q sla "SELECT value FROM summaries WHERE metric = '\''sla_max_concurrency'\''") &&
	echo "found $v; levels: $(q sla "SELECT group_concat(value, \" \") FROM levels")" &&
	awk -v v="$v" "BEGIN { exit !(v >= 7 && v <= 9) }"
'

test_expect_success 'open loop capped at 4 in flight (queue) never exceeds 4' '
	run "$TMP/cap.db" cap --set load="{\"mode\": \"rate\", \"levels\": [400], \"requests\": 60,
		\"max_inflight\": 4, \"overflow\": \"queue\"}" >/dev/null &&
	test "$(q cap "SELECT value FROM summaries WHERE metric = '\''inflight_peak'\''")" = 4.0 &&
	test "$(q cap "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = 60 &&
	q cap "SELECT note FROM summaries WHERE metric = '\''requests_dropped'\''" | grep -q "overflow queue"
'

test_expect_success 'open loop capped at 4 in flight (drop) drops and reports it' '
	run "$TMP/drop.db" drop --set load="{\"mode\": \"rate\", \"levels\": [400], \"requests\": 60,
		\"max_inflight\": 4, \"overflow\": \"drop\"}" >/dev/null &&
	test "$(q drop "SELECT value FROM summaries WHERE metric = '\''inflight_peak'\''")" = 4.0 &&
	d=$(q drop "SELECT value FROM summaries WHERE metric = '\''requests_dropped'\''") &&
	n=$(q drop "SELECT count(*) FROM requests") && echo "dropped $d sent $n" &&
	awk -v d="$d" -v n="$n" "BEGIN { exit !(d > 0 && d + n == 60) }"
'

test_expect_success 'sweep: synchronous, saturation, then interpolated rates' '
	run "$TMP/sweep.db" sweep --set load="{\"mode\": \"sweep\", \"requests\": 16, \"sweep_points\": 3}" >/dev/null &&
	test "$(q sweep "SELECT group_concat(mode, \",\") FROM (SELECT mode FROM levels ORDER BY idx)")" = \
		"concurrency,concurrency,rate,rate,rate" &&
	q sweep "SELECT value FROM levels WHERE mode = '\''rate'\'' ORDER BY idx" | awk "NR > 1 && \$1 <= prev { exit 1 } { prev = \$1 }"
'

test_expect_success 'ramp-up, warm-up by time and cool-down are excluded from figures' '
	run "$TMP/ramp.db" ramp --set load="{\"mode\": \"concurrency\", \"levels\": [8], \"requests\": 40,
		\"warmup\": 0, \"warmup_s\": 0.05, \"cooldown\": 5, \"ramp_up_s\": 0.2}" >/dev/null &&
	w=$(q ramp "SELECT count(*) FROM requests WHERE warmup = 1") && echo "excluded $w" &&
	test "$w" -ge 6 &&
	# the warm-up by time comes before the 40 requests, of which the last 5 cool down
	test "$(q ramp "SELECT count(*) FROM requests")" = "$((40 + w - 5))" &&
	test "$(q ramp "SELECT value FROM summaries WHERE metric = '\''requests_ok'\''")" = 35.0
'
test_expect_success 'warmup_s: its warm-up requests come on top of the measured ones' '
	run "$TMP/wus.db" wus --set load="{\"mode\": \"rate\", \"arrival\": \"constant\", \"levels\": [40],
		\"requests\": 30, \"warmup\": 0, \"warmup_s\": 0.25}" >/dev/null &&
	w=$(q wus "SELECT count(*) FROM requests WHERE warmup = 1") && echo "warm-up $w" &&
	test "$w" -ge 5 && test "$(q wus "SELECT count(*) FROM requests WHERE warmup = 0")" = 30
'

start_sim PORTF --ttft-ms 5 --itl-ms 1 --output-tokens 4 --fault http_500:0.5 --seed 3 || exit 1
test_expect_success 'an error rate above max_error_rate stops the level early' '
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/err.db" --name err --no-progress --no-preflight \
		--set backends.0.base_url=http://127.0.0.1:$PORTF/v1 \
		--set load="{\"mode\": \"concurrency\", \"levels\": [2], \"requests\": 400, \"max_error_rate\": 0.2}") >/dev/null &&
	n=$(q err "SELECT count(*) FROM requests") && echo "sent $n of 402" && test "$n" -lt 100
'
test_done
