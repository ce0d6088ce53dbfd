#!/usr/bin/env bash
# Self-measurement: a level whose p99 schedule lag exceeds load.lag_bound_ms is marked invalid in
# the store (levels.valid = 0 with the reason) and in the run's table, because the client, not
# the server, set the pace; a level the client keeps up with stays valid.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 0 --itl-ms 0 --output-tokens 1 || exit 1
W=$LB_TOP/workloads/smoke.json
run() { # name sets...
	local name=$1
	shift
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$TMP/$name.db" --name "$name" --no-progress \
		--set backends.0.base_url=http://127.0.0.1:$PORT/v1 --set backends.0.stream=false \
		--set generation.max_tokens=1 --set dataset.limit=null "$@")
}
q() { sqlite3 "$TMP/$1.db" "$2"; }

test_expect_success 'a rate the client keeps up with, with a loose lag bound, is valid' '
	run ok --set load="{\"mode\": \"rate\", \"levels\": [100], \"requests\": 100,
		\"arrival\": \"constant\", \"lag_bound_ms\": 200}" >out &&
	cat out && test "$(q ok "SELECT valid FROM levels")" = 1 &&
	test -z "$(q ok "SELECT invalid_reason FROM levels")"
'

test_expect_success 'a lag bound no client can meet marks the level invalid, with the reason' '
	run tiny --set load="{\"mode\": \"rate\", \"levels\": [200], \"requests\": 100,
		\"lag_bound_ms\": 0.000001}" >out 2>&1 &&
	cat out && test "$(q tiny "SELECT valid FROM levels")" = 0 &&
	q tiny "SELECT invalid_reason FROM levels" | tee reason | grep -q "lag" &&
	grep -q "exceeds the bound" reason
'

test_expect_success 'the run table says the level is not valid' '
	grep -E "rate=200 .* NO$" out
'

test_expect_success 'an overloaded client (5,000 requests due at once) is marked invalid' '
	run over --set load="{\"mode\": \"rate\", \"levels\": [1000000], \"requests\": 5000,
		\"arrival\": \"constant\"}" >out &&
	cat out && test "$(q over "SELECT valid FROM levels")" = 0 &&
	p99=$(q over "SELECT value FROM summaries WHERE metric = '\''lag_p99_ms'\''") &&
	echo "lag p99 $p99 ms" && awk -v v="$p99" "BEGIN { exit !(v > 1) }" &&
	q over "SELECT invalid_reason FROM levels" | grep -q "p99 schedule lag"
'

test_expect_success 'export and report carry the lag of every request' '
	"$LLMBENCH" export --db "$TMP/over.db" --run over --format csv >x.csv &&
	test "$(head -n 1 x.csv | tr , "\n" | grep -c "^lag_ms$")" = 1 &&
	test "$(($(wc -l <x.csv) - 1))" = 5000
'
test_done
