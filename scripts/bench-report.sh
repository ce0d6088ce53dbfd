#!/usr/bin/env bash
# Benchmark of `llmbench report` (a figure, not a test): builds a store of N requests (default
# 100,000; 64 stream chunks each, 2 backends x 5 concurrency levels) through the store API with
# build/tests/test_report --make-db, then times a full report (every format, every plot).
# Target: under 10 s on the reference machine (2 cores). Usage: scripts/bench-report.sh [N]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100000}
build=${LB_BUILD:-build}
make -C "$top" --no-print-directory -s all "$build/tests/test_report" >&2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmbench-bench-report.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
t0=$(date +%s.%N)
"$top/$build/tests/test_report" --make-db "$tmp/bench.db" --requests "$n"
t1=$(date +%s.%N)
"$top/$build/llmbench" report --db "$tmp/bench.db" --out "$tmp/out" >/dev/null 2>"$tmp/err" ||
	{ cat "$tmp/err" >&2; exit 1; }
t2=$(date +%s.%N)
reqs=$(wc -l <"$tmp/out/requests.jsonl")
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$reqs" -v sz="$(du -k "$tmp/bench.db" | cut -f1)" 'BEGIN {
	printf "bench-report: store of %d requests (%.0f MiB) built in %.1f s\n", n, sz / 1024, b - a
	printf "bench-report: llmbench report (html, md, csv, json, jsonl, 10 plots png+svg): %.2f s%s\n",
		c - b, (c - b < 10 ? "" : "  (over the 10 s target)")
}'
