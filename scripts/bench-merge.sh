#!/usr/bin/env bash
# bench-merge.sh: the speed and memory of `llmbench merge` (issue 14: >= 1,000,000 request rows
# per second from 8 stores, memory flat in the number of rows). A benchmark, not a test.
#
# Makes one real shard store (shard 0 of STORES, a short run against `llmbench sim`), copies it
# to STORES stores (shard k of STORES each) and inflates each to ROWS/STORES requests with SQL
# (rows repeated with shifted times and varied latencies, so that the sort has work), then
# times `llmbench merge` of all of them into a new store, with /usr/bin/time's peak RSS, at each
# total of SIZES (flat memory: the peaks should be close). Figures on stdout as TSV:
#   rows  stores  wall_s  rows_per_wall_s  cpu_s  rows_per_cpu_s  peak_rss_mib  load_1min
# and merge --timing's phases (copy, index, figures, sync) on stderr. The figures are read by a second thread
# beside the copy (its CPU counts in the copy phase; "figures" is what is left after the copy);
# LLMBENCH_MERGE_THREAD=0 in the environment measures the one-thread merge. On a shared machine
# the wall time counts other processes' turns; the CPU time is merge's own (both threads), so
# rows per CPU second is lower than rows per wall second; load_1min is the load average when
# the merge ended. PERF=1 records the largest merge with `perf` and prints its top symbols.
# Environment: SIZES (default "125000 250000 1000000"; ROWS=R alone means "R/4 R"), STORES (8),
# REPEAT (1: merges per size), KEEP=1 keeps the scratch folder.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
LLMBENCH=${LLMBENCH:-$top/build/llmbench}
if [ -n "${ROWS:-}" ]; then SIZES=${SIZES:-"$((ROWS / 4)) $ROWS"}; fi
SIZES=${SIZES:-"125000 250000 1000000"}
STORES=${STORES:-8}
REPEAT=${REPEAT:-1}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmbench-bench-merge.XXXXXX")
sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
command -v sqlite3 >/dev/null || { echo "bench-merge: needs the sqlite3 shell" >&2; exit 2; }

"$LLMBENCH" sim --listen 127.0.0.1:0 --port-file "$tmp/port" --ttft-ms 5 --itl-ms 1 \
	--output-tokens 8 --jitter-ms 2 >"$tmp/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
start=$(python3 -c 'import time; print("@%.3f" % (time.time() + 1.5))')
(cd "$top" && "$LLMBENCH" run workloads/smoke.json --db "$tmp/seed.db" --name bench-merge \
	--no-progress --shard 0/"$STORES" --start-at "$start" \
	--set backends.0.base_url=http://127.0.0.1:$port/v1 --set generation.max_tokens=8 \
	--set 'load={"mode": "rate", "levels": [400], "requests": 800, "warmup": 0}') >/dev/null 2>&1
kill "$sim_pid" && wait "$sim_pid" 2>/dev/null
sim_pid=

make_stores() { # total rows -> $tmp/in-<rows>/shard-K.db
	local total=$1 per=$(( $1 / STORES )) d=$tmp/in-$1 k
	mkdir -p "$d"
	local seed_rows
	seed_rows=$(sqlite3 "$tmp/seed.db" "SELECT count(*) FROM requests")
	local reps=$(( (per + seed_rows - 1) / seed_rows ))
	for ((k = 0; k < STORES; k++)); do
		cp "$tmp/seed.db" "$d/shard-$k.db"
		sqlite3 "$d/shard-$k.db" >/dev/null <<-SQL
		PRAGMA journal_mode = OFF;
		PRAGMA synchronous = OFF;
		UPDATE shards SET shard = $k;
		CREATE TEMP TABLE base AS SELECT * FROM requests;
		DELETE FROM requests;
		WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < $reps)
		INSERT INTO requests (run_id, backend_id, level_id, req_id, seq, item_idx, warmup, status,
			http_status, error, finish_reason, t_scheduled_ns, t_send_ns, t_first_ns, t_end_ns,
			ttft_ms, tpot_ms, e2e_ms, lag_ms, prompt_tokens, prompt_tokens_source, output_tokens,
			output_tokens_source, n_chunks, chunk_times, chunk_tokens, server_prompt_ms,
			server_predicted_ms, output_text)
		SELECT run_id, backend_id, level_id, req_id + i * 1000000, seq + i * 1000000, item_idx, warmup,
			status, http_status, error, finish_reason, t_scheduled_ns + i * 2000000000,
			t_send_ns + i * 2000000000, t_first_ns + i * 2000000000, t_end_ns + i * 2000000000,
			ttft_ms * (0.5 + (abs(random()) % 1000) / 1000.0), tpot_ms, e2e_ms * (0.5 + (abs(random()) % 1000) / 1000.0),
			lag_ms, prompt_tokens, prompt_tokens_source, output_tokens, output_tokens_source, n_chunks,
			chunk_times, chunk_tokens, server_prompt_ms, server_predicted_ms, output_text
		FROM base, c ORDER BY i, base.id LIMIT $per;
		PRAGMA journal_mode = WAL;
		SQL
	done
}

measure() { # total rows: one merge, timed, into a new store
	local total=$1 d=$tmp/in-$1 out
	rm -f "$tmp/m-$total.db"
	sync
	out=$( { /usr/bin/time -f "TIME %e %M %U %S" "$LLMBENCH" merge "$tmp/m-$total.db" "$d"/shard-*.db --quiet --timing; } 2>&1 )
	echo "$out" | grep "timing:" | sed "s/^/# $total rows: /" >&2
	local secs rss rows cpu
	secs=$(echo "$out" | awk '/^TIME/ { print $2 }')
	rss=$(echo "$out" | awk '/^TIME/ { printf "%.1f", $3 / 1024 }')
	cpu=$(echo "$out" | awk '/^TIME/ { printf "%.2f", $4 + $5 }')
	rows=$(sqlite3 "$tmp/m-$total.db" "SELECT count(*) FROM requests")
	printf "%s\t%s\t%s\t%.0f\t%s\t%.0f\t%s\t%s\n" "$rows" "$STORES" "$secs" "$(echo "$rows / $secs" | bc -l)" \
		"$cpu" "$(echo "$rows / $cpu" | bc -l)" "$rss" "$(cut -d' ' -f1 /proc/loadavg)"
}

printf "rows\tstores\twall_s\trows_per_wall_s\tcpu_s\trows_per_cpu_s\tpeak_rss_mib\tload_1min\n"
last=
for total in $SIZES; do
	make_stores "$total"
	for ((r = 0; r < REPEAT; r++)); do measure "$total"; done
	last=$total
done
if [ -n "${PERF:-}" ] && command -v perf >/dev/null; then
	rm -f "$tmp/m-perf.db"
	perf record -q -o "$tmp/perf.data" "$LLMBENCH" merge "$tmp/m-perf.db" "$tmp/in-$last"/shard-*.db \
		--quiet >/dev/null 2>&1
	echo "# perf: top symbols of the merge of $last rows" >&2
	perf report -i "$tmp/perf.data" --no-children --sort dso,symbol 2>/dev/null | grep -v "^#" |
		grep "%" | head -25 | sed "s/^/# /" >&2
fi
echo "bench-merge: machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
