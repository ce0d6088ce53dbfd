#!/usr/bin/env bash
# bench-scale.sh: a split load on this machine (issue 14): one `llmbench sim`, the same total
# load run by one process (REPEAT times, for its own spread) and by 4 and 8 shards that meet
# through --rendezvous and are merged. Prints, per configuration: requests, offered and achieved
# rate (and the achieved rate against the single run's, goal within 2%), TTFT p50 (against the
# single runs' p50 range widened by 2 standard errors of a median, and against the single runs'
# own TTFT standard deviation), the shards' start spread
# and the merge's time. Then the merge speed from scripts/bench-merge.sh. A benchmark, not a
# test: figures on stdout. Environment: RATE (req/s, default 200), REQUESTS (default 2000),
# REPEAT (single runs, default 3), SHARDS ("4 8"), MERGE_ROWS (bench-merge.sh ROWS, default
# 1000000; 0 skips it).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export LLMBENCH=${LLMBENCH:-$top/build/llmbench}
RATE=${RATE:-200}
REQUESTS=${REQUESTS:-2000}
REPEAT=${REPEAT:-3}
SHARDS=${SHARDS:-4 8}
MERGE_ROWS=${MERGE_ROWS:-1000000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmbench-bench-scale.XXXXXX")
sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

"$LLMBENCH" sim --listen 127.0.0.1:0 --port-file "$tmp/port" --ttft-ms 20 --itl-ms 2 \
	--output-tokens 16 --jitter-ms 2 >"$tmp/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
load="{\"mode\": \"rate\", \"levels\": [$RATE], \"requests\": $REQUESTS, \"warmup\": 0, \"arrival\": \"constant\", \"lag_bound_ms\": 50}"
run() { # db name [options]
	local db=$1 name=$2
	shift 2
	(cd "$top" && "$LLMBENCH" run workloads/smoke.json --db "$db" --name "$name" --no-progress \
		--set backends.0.base_url=http://127.0.0.1:$port/v1 --set generation.max_tokens=16 \
		--set "load=$load" "$@") >/dev/null 2>"$db.err"
}
fig() { sqlite3 "$1" "SELECT printf('%.4f', value) FROM summaries WHERE level_id <> 0 AND metric = '$2'"; }

printf "config\trequests\toffered\tachieved\tvs_single\tttft_p50_ms\tin_p50_range\twithin_1_sd\tstart_spread_ms\tmerge_s\n"
lo=; hi=; ach1=; se=; sd=; p50s=0
for ((i = 0; i < REPEAT; i++)); do
	run "$tmp/single-$i.db" single
	p50=$(fig "$tmp/single-$i.db" ttft_p50_ms)
	a=$(fig "$tmp/single-$i.db" achieved_rate)
	n=$(sqlite3 "$tmp/single-$i.db" "SELECT count(*) FROM requests")
	# standard error of a median: 1.2533 * sd / sqrt(n)
	s=$(sqlite3 "$tmp/single-$i.db" "SELECT printf('%.4f', 1.2533 * value / sqrt($n)) FROM summaries WHERE metric = 'ttft_sd_ms'")
	printf "single #%d\t%s\t%s\t%s\t-\t%s\t-\t-\t-\t-\n" "$i" "$n" "$RATE" "$a" "$p50"
	sd=$(awk -v a="${sd:-0}" -v b="$(fig "$tmp/single-$i.db" ttft_sd_ms)" -v n="$REPEAT" 'BEGIN { print a + b / n }')
	p50s=$(awk -v a="$p50s" -v b="$p50" -v n="$REPEAT" 'BEGIN { print a + b / n }')
	lo=$(awk -v a="${lo:-$p50}" -v b="$p50" 'BEGIN { print (b < a ? b : a) }')
	hi=$(awk -v a="${hi:-$p50}" -v b="$p50" 'BEGIN { print (b > a ? b : a) }')
	se=$(awk -v a="${se:-0}" -v b="$s" 'BEGIN { print (b > a ? b : a) }')
	ach1=$(awk -v a="${ach1:-0}" -v b="$a" -v n="$REPEAT" 'BEGIN { print a + b / n }')
done
lo_w=$(awk -v l="$lo" -v s="$se" 'BEGIN { print l - 2 * s }')
hi_w=$(awk -v h="$hi" -v s="$se" 'BEGIN { print h + 2 * s }')
for n in $SHARDS; do
	rdv=$tmp/rdv-$n
	pids=
	for ((k = 0; k < n; k++)); do
		run "$tmp/s$n-$k.db" "split$n" --shard "$k/$n" --rendezvous "$rdv" & pids="$pids $!"
	done
	wait $pids
	t0=$(date +%s.%N)
	"$LLMBENCH" merge "$tmp/m$n.db" "$tmp"/s$n-*.db --quiet
	t1=$(date +%s.%N)
	m=$tmp/m$n.db
	p50=$(fig "$m" ttft_p50_ms)
	a=$(fig "$m" achieved_rate)
	printf "%d shards\t%s\t%s\t%s\t%+.2f%%\t%s\t%s\t%s\t%s\t%.2f\n" "$n" \
		"$(sqlite3 "$m" "SELECT count(*) FROM requests")" "$(fig "$m" offered_rate)" "$a" \
		"$(awk -v a="$a" -v b="$ach1" 'BEGIN { print (a / b - 1) * 100 }')" "$p50" \
		"$(awk -v p="$p50" -v l="$lo_w" -v h="$hi_w" 'BEGIN { print (p >= l && p <= h) ? "yes" : "NO" }')" \
		"$(awk -v p="$p50" -v m="$p50s" -v s="$sd" 'BEGIN { d = p - m; if (d < 0) d = -d; print (d <= s) ? "yes" : "NO" }')" \
		"$(fig "$m" shard_start_spread_ms)" "$(echo "$t1 - $t0" | bc -l)"
done
echo "single runs' TTFT p50 range: $lo .. $hi ms, widened by 2 standard errors of a median: $lo_w .. $hi_w ms; their TTFT sd (mean): $sd ms" >&2
echo "bench-scale: machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
kill "$sim_pid" && wait "$sim_pid" 2>/dev/null
sim_pid=
if [ "$MERGE_ROWS" != 0 ]; then
	echo
	echo "merge speed (scripts/bench-merge.sh, ROWS=$MERGE_ROWS):"
	ROWS=$MERGE_ROWS bash "$top/scripts/bench-merge.sh"
fi
