#!/usr/bin/env bash
# The in-process llama.cpp backend on a tiny generated model of each family (LLaMA, Falcon,
# Mistral): tests/unit/test_llamacpp.c run on each model (event order and exact counts,
# max_tokens, stop strings, greedy determinism for the same batch shape, logits within a
# tolerance and greedy tokens alike where the top logit wins clearly across 1 vs 4 parallel
# sequences, seeded sampling, loglik against a direct llama.cpp computation, a too-long prompt
# failing alone, cancel, chat messages), then `llmbench bench-model` and its errors.
#
# The prebuilt library picks its CPU kernels by CPU (libggml-cpu-<variant>.so), so the same
# tests run again with other variants forced (LLMBENCH_LLAMA_CPU): the generic x64 one and, on
# a CPU with AVX2, haswell; a difference between machines then shows here, not on a user's
# fresh clone (docs/reliability.md). LB_LLAMA_CPU_VARIANTS="v1 v2" picks others.
. "$(dirname "$0")/../lib.sh"

UNIT=$LB_TOP/${LB_BUILD:-build}/tests/test_llamacpp

if "$LLMBENCH" bench-model --model "$TMP/none.gguf" 2>&1 | grep -q "not built in"; then
	test_skip "llama.cpp is not built in (make deps)"
	test_done
	exit
fi

for arch in llama falcon mistral; do
	test_expect_success "model make --arch $arch" '
		"$LLMBENCH" model make --arch '$arch' --out "$TMP/'$arch'.gguf" --seed 7 --ctx 512
	'
	test_expect_success "backend tests pass on a $arch model" '
		[ -x "$UNIT" ] || { echo "missing $UNIT (make unit)"; exit 1; }
		LLMBENCH_TEST_MODEL="$TMP/'$arch'.gguf" "$UNIT" >"$TMP/unit-'$arch'.log" 2>&1
		rc=$?; cat "$TMP/unit-'$arch'.log"
		[ $rc -eq 0 ] && grep -q "PASSED  \] 13 test" "$TMP/unit-'$arch'.log" &&
		! grep -q "SKIPPED\|FAILED" "$TMP/unit-'$arch'.log"
	'
done

# CPU variants this machine can run: x64 needs nothing beyond x86-64; haswell needs AVX2, FMA,
# F16C and BMI2 (what its build enables).
variants=${LB_LLAMA_CPU_VARIANTS-}
if [ -z "$variants" ] && [ "$(uname -m)" = x86_64 ]; then
	variants=x64
	flags=" $(grep -m1 "^flags" /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
	has() { case "$flags" in *" $1 "*) return 0 ;; esac; return 1; }
	if has avx2 && has fma && has f16c && has bmi2; then variants="x64 haswell"; fi
fi
[ -n "$variants" ] || test_skip "no prebuilt CPU variant known for $(uname -m): not repeated"
for v in $variants; do
	for arch in llama falcon mistral; do
		test_expect_success "backend tests pass on a $arch model with CPU variant $v" '
			LLMBENCH_LLAMA_CPU='$v' LLMBENCH_TEST_MODEL="$TMP/'$arch'.gguf" "$UNIT" \
				>"$TMP/unit-'$arch-$v'.log" 2>&1
			rc=$?; cat "$TMP/unit-'$arch-$v'.log"
			[ $rc -eq 0 ] && grep -q "PASSED  \] 13 test" "$TMP/unit-'$arch-$v'.log" &&
			grep -q "^llama.cpp CPU backend: '$v':" "$TMP/unit-'$arch-$v'.log" &&
			! grep -q "SKIPPED\|FAILED" "$TMP/unit-'$arch-$v'.log"
		'
	done
done

test_expect_code 3 'a CPU variant that is not there is a clear error' '
	LLMBENCH_LLAMA_CPU=nope "$LLMBENCH" bench-model --model "$TMP/llama.gguf" -p 8 -n 4 -r 1 2>err
	rc=$?; cat err >&2
	[ "$(wc -l <err)" = 1 ] && grep -q "LLMBENCH_LLAMA_CPU=nope: cannot load .*libggml-cpu-nope.so" err &&
	exit $rc
'

test_expect_code 3 'a CPU variant name is a name, not a path' '
	LLMBENCH_LLAMA_CPU=../x "$LLMBENCH" bench-model --model "$TMP/llama.gguf" -p 8 -n 4 -r 1 2>err
	rc=$?; cat err >&2
	grep -q "expected a CPU variant name" err && exit $rc
'

test_expect_success 'bench-model prints pp and tg as mean ± stddev, as llama-bench' '
	"$LLMBENCH" bench-model --model "$TMP/llama.gguf" -t 1 -p 64 -n 16 -r 3 --parallel 2 >out &&
	cat out &&
	grep -E "^\| model +\| +size \| +params \| backend +\| threads \| +test \| +t/s \|$" out &&
	grep -E "\| +pp64 \| +[0-9]+\.[0-9]+ ± [0-9]+\.[0-9]+ \|$" out &&
	grep -E "\| +tg16 \| +[0-9]+\.[0-9]+ ± [0-9]+\.[0-9]+ \|$" out &&
	grep -E "^\| +2 \| +pp64\+tg16 \| +[0-9]+\.[0-9]+ ± [0-9.]+ \|" out
'

if ! command -v jq >/dev/null; then
	test_skip "jq not installed: bench-model --json not checked"
else
test_expect_success 'bench-model --json has positive rates and one sample per repetition' '
	"$LLMBENCH" bench-model --model "$TMP/falcon.gguf" -t 1 -p 32 -n 8 -r 2 --no-serve \
		--json >out.json &&
	jq -e ".tests | length == 2" out.json &&
	jq -e "[.tests[] | .avg_ts > 0 and (.samples_ts | length) == 2] | all" out.json &&
	jq -e ".tests[0].test == \"pp32\" and .tests[1].test == \"tg8\" and .n_threads == 1" out.json &&
	jq -e ".serve == null and .model_n_params > 0" out.json
'
fi

test_expect_code 2 'bench-model: a missing model is a clear error' '
	"$LLMBENCH" bench-model --model nope.gguf 2>err; cat err >&2
	grep -q "cannot open model '\''nope.gguf'\''" err && exit 2
'

test_expect_code 2 'bench-model: a file that is not GGUF is a clear error' '
	echo "not a model" >bad.gguf
	"$LLMBENCH" bench-model --model bad.gguf 2>err; rc=$?; cat err >&2
	grep -q "not a GGUF file" err && exit $rc
'

test_expect_code 2 'bench-model: tests longer than the model context are refused' '
	"$LLMBENCH" bench-model --model "$TMP/mistral.gguf" -p 512 -n 128 2>err; rc=$?; cat err >&2
	grep -q "needs a context of 640 tokens, more than the 512" err && exit $rc
'

test_expect_code 2 'bench-model: bad options exit 2' '
	"$LLMBENCH" bench-model --model "$TMP/llama.gguf" -r 0
'

test_expect_success 'bench-model --help' '
	"$LLMBENCH" bench-model --help | grep -q "usage: llmbench bench-model"
'

test_done
