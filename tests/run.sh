#!/usr/bin/env bash
# Run every suite (unit: cmocka executables; cli and integration: shell scripts using
# tests/lib.sh) and end with one line "N passed, N failed". Exit 1 if anything failed.
# LB_SUITES="unit cli integration" picks suites; LB_ONLY=pattern filters files by name.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export LB_BUILD=${LB_BUILD:-build}
export LLMBENCH=${LLMBENCH:-$top/$LB_BUILD/llmbench}
case $LLMBENCH in /*) ;; *) LLMBENCH=$top/$LLMBENCH ;; esac
suites=${LB_SUITES:-unit cli integration fuzz asan tsan format}
only=${LB_ONLY:-}
logdir=$top/$LB_BUILD/test-logs
mkdir -p "$logdir"
total_pass=0
total_fail=0
failed_names=()

record() { # name pass fail
	total_pass=$((total_pass + $2))
	total_fail=$((total_fail + $3))
	if [ "$3" -gt 0 ]; then failed_names+=("$1"); st=FAIL; else st=ok; fi
	printf '%-4s %-48s %4d passed, %d failed\n' "$st" "$1" "$2" "$3"
}

for suite in $suites; do
	echo "== $suite"
	case $suite in
	unit|asan|tsan)
		bdir=$LB_BUILD prefix=
		case $suite in
		asan) bdir=build-san prefix=asan: ;;
		tsan) bdir=build-tsan prefix=tsan: ;;
		esac
		if [ "$suite" != unit ] && [ ! -d "$bdir/tests" ]; then
			echo "  $bdir not built: run 'make $suite-build'"
			record "$suite build" 0 1
			continue
		fi
		for t in "$bdir"/tests/test_*; do
			[ -x "$t" ] || continue
			name=$prefix$(basename "$t")
			[ -n "$only" ] && [[ $name != *$only* ]] && continue
			log=$logdir/$name.log
			timeout 600 "$t" >"$log" 2>&1
			rc=$?
			# every group of the executable (test_openai runs two)
			p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{ n += $1 } END { print n + 0 }')
			f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{ n += $1 } END { print n + 0 }')
			p=${p:-0}; f=${f:-0}
			if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
			[ "$f" -gt 0 ] && { sed -n '/\[  FAILED  \]\|\[  ERROR   \]\|error\|Assert\|ERROR/p' "$log" | head -n 20; }
			record "$name" "$p" "$f"
		done
		if [ "$suite" = asan ] && [ -x build-san/llmbench ]; then
			# the shell tests of the binary, against the sanitized build
			for t in tests/cli/t*.sh; do
				name=asan:$(basename "$t" .sh)
				[ -n "$only" ] && [[ $name != *$only* ]] && continue
				log=$logdir/$name.log
				LLMBENCH=$top/build-san/llmbench LB_BUILD=build-san \
					timeout "${LB_TEST_TIMEOUT:-1200}" bash "$t" >"$log" 2>&1
				rc=$?
				line=$(grep '^# passed [0-9]* failed [0-9]*' "$log" | tail -n 1)
				p=$(echo "$line" | awk '{print $3}'); f=$(echo "$line" | awk '{print $5}')
				p=${p:-0}; f=${f:-0}
				if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
				[ "$f" -gt 0 ] && { grep -A12 '^not ok' "$log" | head -n 40; }
				record "$name" "$p" "$f"
			done
		fi
		;;
	cli|integration)
		for t in tests/$suite/[ti]*.sh; do
			[ -f "$t" ] || continue
			name=$(basename "$t" .sh)
			[ -n "$only" ] && [[ $name != *$only* ]] && continue
			log=$logdir/$name.log
			timeout "${LB_TEST_TIMEOUT:-1200}" bash "$t" >"$log" 2>&1
			rc=$?
			line=$(grep '^# passed [0-9]* failed [0-9]*' "$log" | tail -n 1)
			p=$(echo "$line" | awk '{print $3}'); f=$(echo "$line" | awk '{print $5}')
			p=${p:-0}; f=${f:-0}
			if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "  $name exited $rc"; fi
			[ "$f" -gt 0 ] && { grep -A12 '^not ok' "$log" | head -n 40; tail -n 5 "$log"; }
			record "$name" "$p" "$f"
		done
		;;
	fuzz)
		log=$logdir/fuzz-regress.log
		bash scripts/fuzz.sh regress >"$log" 2>&1
		rc=$?
		line=$(grep '^# passed [0-9]* failed [0-9]*' "$log" | tail -n 1)
		p=$(echo "$line" | awk '{print $3}'); f=$(echo "$line" | awk '{print $5}')
		p=${p:-0}; f=${f:-0}
		if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		[ "$f" -gt 0 ] && grep -A20 '^not ok' "$log" | head -n 40
		record "fuzz corpus replay" "$p" "$f"
		;;
	format)
		# .clang-format is the format of every C file (make format-check); one check per file
		log=$logdir/format-check.log
		: >"$log"
		p=0 f=0
		for src in base/*.[ch] harness/*.[ch] backends/*.[ch] metrics/*.[ch] datasets/*.[ch] \
			reports/*.[ch]; do
			[ -n "$only" ] && [[ $src != *$only* ]] && continue
			if clang-format --dry-run -Werror "$src" >>"$log" 2>&1; then
				p=$((p + 1))
			else
				f=$((f + 1))
				echo "  not formatted: $src (make format)"
			fi
		done
		record "format-check (clang-format)" "$p" "$f"
		;;
	*) echo "run.sh: unknown suite '$suite'" >&2; exit 2 ;;
	esac
done
if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]} (logs in $logdir)"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
