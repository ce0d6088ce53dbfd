#!/usr/bin/env bash
# bench.sh: `make bench` (a benchmark, not a test: it prints figures). Runs
#   scripts/bench-load.sh    the load generator against `llmbench sim` on loopback
#   scripts/bench-model.sh   in-process pp/tg beside a direct llama.cpp loop (if present)
#   scripts/bench-report.sh  `llmbench report` over a store of 100k requests (if present)
# and prints one table of figures with the issue's goals, and the machine they came from.
# docs/performance.md explains each figure and holds the last recorded table.
# Environment: SKIP="model report" leaves those parts out; the parts' own variables pass through.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/bench
mkdir -p "$out"
export LLMBENCH=${LLMBENCH:-$top/build/llmbench}
SKIP=${SKIP:-}
t0=$(date +%s)

machine() {
	local cpu mem
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
	echo "$(nproc) cores ($cpu), $mem, Linux $(uname -r), $(date -u +%Y-%m-%d), load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
}
echo "bench: machine: $(machine)"
echo "bench: llmbench $("$LLMBENCH" --version 2>/dev/null | head -n 1)"

status_load=0
OUT_TSV=$out/load.tsv bash "$top/scripts/bench-load.sh" || status_load=$?

model_lines=""
if [[ " $SKIP " != *" model "* ]] && [ -f "$top/scripts/bench-model.sh" ]; then
	echo "bench: scripts/bench-model.sh" >&2
	bash "$top/scripts/bench-model.sh" >"$out/model.txt" 2>"$out/model.err" ||
		echo "bench: bench-model.sh failed (see $out/model.err)" >&2
	cat "$out/model.txt"
	model_lines=$(grep -E '^\s*(pp|tg)|ratio|tok/s' "$out/model.txt" | head -n 12)
fi
report_lines=""
if [[ " $SKIP " != *" report "* ]] && [ -f "$top/scripts/bench-report.sh" ]; then
	echo "bench: scripts/bench-report.sh" >&2
	bash "$top/scripts/bench-report.sh" >"$out/report.txt" 2>"$out/report.err" ||
		echo "bench: bench-report.sh failed (see $out/report.err)" >&2
	report_lines=$(cat "$out/report.txt")
fi

echo
echo "| figure | value | goal | note |"
echo "| --- | --- | --- | --- |"
if [ -s "$out/load.tsv" ]; then
	awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$out/load.tsv"
else
	echo "| load figures | unavailable: bench-load.sh failed (exit $status_load) | | |"
fi
if [ -n "$model_lines" ]; then
	while IFS= read -r l; do echo "| in-process (bench-model) | ${l//|//} | >= 0.98 x direct | |"; done <<<"$model_lines"
fi
if [ -n "$report_lines" ]; then
	while IFS= read -r l; do echo "| report (bench-report) | ${l#bench-report: } | < 10 s | |"; done <<<"$report_lines"
fi
echo
echo "bench: machine: $(machine)"
echo "bench: took $(($(date +%s) - t0)) s"
exit "$status_load"
