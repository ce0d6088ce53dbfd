#!/usr/bin/env bash
# Regenerate the golden files of the report writers (make golden), or write them to another
# folder for a comparison: tests/golden/regen.sh [OUTDIR]. The fixture store comes from
# build/tests/test_report --make-db (the store API; fixed times, host and version), so the
# outputs hold no timestamp or version of their own. Review `git diff tests/golden` after.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/tests/golden}
build=${LB_BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
llmbench=${LLMBENCH:-$build/llmbench}
fixture=$build/tests/test_report
if [ ! -x "$fixture" ] || [ ! -x "$llmbench" ]; then
	make -C "$top" --no-print-directory -s all "$build/tests/test_report" >&2
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmbench-golden.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$fixture" --make-db "$tmp/golden.db" --variant both
mkdir -p "$out/report" "$out/compare"
LLMBENCH_REPORT_NORMALIZE=1 "$llmbench" report --db "$tmp/golden.db" --run golden-a \
	--out "$tmp/report" --format csv,md,json,jsonl >/dev/null
for f in report.csv report.md report.json requests.jsonl; do
	cp "$tmp/report/$f" "$out/report/$f"
done
"$llmbench" compare --db "$tmp/golden.db" golden-a golden-b --format md --out "$out/compare/compare.md"
"$llmbench" compare --db "$tmp/golden.db" golden-a golden-b --format csv --out "$out/compare/compare.csv"
[ "$out" != "$top/tests/golden" ] || echo "golden files written to tests/golden/{report,compare}; review git diff"
