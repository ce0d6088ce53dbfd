#!/usr/bin/env bash
# fuzz.sh run SECONDS: run each libFuzzer target on a scratch copy of its seed corpus.
# fuzz.sh regress: replay every seed corpus once; prints "# passed N failed M" (tests/run.sh).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mode=${1:-regress}
secs=${2:-60}
pass=0
fail=0
for bin in build-fuzz/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	corpus=tests/fuzz/corpus/${name#fuzz_}
	mkdir -p "$corpus"
	if [ "$mode" = run ]; then
		work=build-fuzz/corpus/${name#fuzz_}
		mkdir -p "$work" build-fuzz/crashes
		cp -n "$corpus"/* "$work"/ 2>/dev/null || true
		echo "== $name for ${secs}s"
		"$bin" "$work" -max_total_time="$secs" -max_len=65536 -artifact_prefix=build-fuzz/crashes/"$name"- \
			-print_final_stats=1 2>&1 | grep -E "stat::number_of_executed_units|stat::peak_rss|SUMMARY|ERROR|Done" || true
	else
		if "$bin" -runs=0 "$corpus" >build-fuzz/"$name".regress.log 2>&1; then
			echo "ok - $name replays $(ls "$corpus" | wc -l) seeds"
			pass=$((pass + 1))
		else
			echo "not ok - $name"
			tail -n 30 build-fuzz/"$name".regress.log
			fail=$((fail + 1))
		fi
	fi
done
if [ "$mode" != run ]; then
	echo "# passed $pass failed $fail"
	[ "$fail" -eq 0 ]
fi
