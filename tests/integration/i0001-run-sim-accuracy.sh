#!/usr/bin/env bash
# Against `llmbench sim` with known timings, the stored figures match the truth: median TTFT
# within 3 ms of 150 and median TPOT within 1 ms of 15 at concurrency 1 and 32; per request,
# measured minus true first-token time (from the simulator's send log) is small; with 4 tokens
# per chunk N_out and TPOT stay right.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 150 --itl-ms 15 --output-tokens 32 --log "$TMP/sim.log" || exit 1
W=$LB_TOP/workloads/smoke.json
run_smoke() { # db name port extra...
	local db=$1 name=$2 port=$3
	shift 3
	(cd "$LB_TOP" && "$LLMBENCH" run "$W" --db "$db" --name "$name" --no-progress \
		--set backends.0.base_url=http://127.0.0.1:$port/v1 --set load.levels='[1,32]' \
		--set load.requests=64 --set load.warmup=2 --set dataset.limit=64 "$@")
}
metric() { # db level-value metric
	sqlite3 "$1" "SELECT s.value FROM summaries s JOIN levels l ON l.id = s.level_id
		WHERE l.value = $2 AND s.metric = '$3'"
}
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= t) }'; }

test_expect_success 'run against the simulator completes' '
	run_smoke "$TMP/a.db" acc "$PORT" >"$TMP/run.out" &&
	grep -q "128 requests ok, 0 failed" "$TMP/run.out"
'
for c in 1 32; do
	test_expect_success "median TTFT within 3 ms of 150 at concurrency $c" '
		v=$(metric "$TMP/a.db" '$c' ttft_p50_ms); echo "ttft p50 $v"; within "$v" 150 3
	'
	test_expect_success "median TPOT within 1 ms of 15 at concurrency $c" '
		v=$(metric "$TMP/a.db" '$c' tpot_p50_ms); echo "tpot p50 $v"; within "$v" 15 1
	'
	test_expect_success "output tokens from usage at concurrency $c" '
		v=$(metric "$TMP/a.db" '$c' output_tokens_mean); within "$v" 32 0.001 &&
		test "$(sqlite3 "$TMP/a.db" "SELECT DISTINCT output_tokens_source FROM requests")" = usage
	'
done

test_expect_success 'measured minus true first-token time is small (send log)' '
	sleep 0.3 &&
	"$LLMBENCH" export --db "$TMP/a.db" --run acc --format csv >"$TMP/req.csv" &&
	awk -F, "NR == 1 { for (i = 1; i <= NF; i++) col[\$i] = i; next }
		{ print \$col[\"request_id\"], \$col[\"t_first_ns\"] }" "$TMP/req.csv" | sort >"$TMP/measured" &&
	awk "\$3 == \"first\" { print \$2, \$1 }" "$TMP/sim.log" | sort >"$TMP/true" &&
	join "$TMP/measured" "$TMP/true" | awk "{ d = (\$2 - \$3) / 1e6; n++; if (d < 0 || d > 5) bad++; s += d }
		END { printf \"n=%d mean measured-true %.3f ms, outside [0,5] ms: %d\n\", n, s / n, bad; exit !(n >= 120 && bad + 0 <= n / 50) }"
'

start_sim PORT4 --ttft-ms 150 --itl-ms 15 --output-tokens 32 --tokens-per-chunk 4 || exit 1
test_expect_success 'with 4 tokens per chunk N_out and TPOT stay right' '
	run_smoke "$TMP/b.db" chunk4 "$PORT4" --set load.levels="[1]" --set load.requests=16 >/dev/null &&
	v=$(metric "$TMP/b.db" 1 output_tokens_mean) && within "$v" 32 0.001 &&
	n=$(sqlite3 "$TMP/b.db" "SELECT n_chunks FROM requests WHERE warmup = 0 LIMIT 1") && test "$n" = 8 &&
	v=$(metric "$TMP/b.db" 1 tpot_p50_ms) && echo "tpot $v" &&
	within "$v" "$(awk "BEGIN { print 7 * 4 * 15 / 31 }")" 1
'
test_done
