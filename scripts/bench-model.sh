#!/usr/bin/env bash
# bench-model.sh: llmbench's in-process speed beside a direct llama.cpp decode loop (part of
# `make bench`). Builds tests/bench/llama_direct.c with cc against the same llama.cpp, makes a
# generated LLaMA-family model, then measures pp N and tg N with both, alternating them for
# ROUNDS rounds so that a busy machine hurts both alike, and prints mean ± stddev over all
# repetitions and the ratio llmbench / direct (goal >= 0.98). Last, the model served through
# the backend with 1 and PARALLEL concurrent sequences: aggregate and per-sequence tokens/s.
#
# Environment: LLMBENCH, THREADS (default: all cores), PP (512), TG (128), REPS (5), ROUNDS (2),
# BATCH (512), PARALLEL (4), BENCH_MODEL (a GGUF to use instead of the generated one),
# LLAMA_PREFIX (an installed llama.cpp instead of third_party/llama).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
LLMBENCH=${LLMBENCH:-$top/build/llmbench}
out=$top/build/bench
THREADS=${THREADS:-$(nproc)}
PP=${PP:-512}
TG=${TG:-128}
REPS=${REPS:-5}
ROUNDS=${ROUNDS:-2}
BATCH=${BATCH:-512}
PARALLEL=${PARALLEL:-4}
mkdir -p "$out"

if [ -n "${LLAMA_PREFIX:-}" ]; then
	inc=$LLAMA_PREFIX/include
	libdir=$LLAMA_PREFIX/lib
	libs=(-lllama -lggml -lggml-base)
else
	inc=$top/third_party/llama/include
	libdir=$top/third_party/llama/lib
	libs=(-l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so)
fi
if [ ! -f "$inc/llama.h" ]; then
	echo "bench-model: llama.cpp not found in '$inc' (run 'make deps' or set LLAMA_PREFIX)" >&2
	exit 1
fi
direct=$out/llama_direct
src=$top/tests/bench/llama_direct.c
if [ ! -x "$direct" ] || [ "$src" -nt "$direct" ]; then
	${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -isystem "$inc" -o "$direct" "$src" \
		-L"$libdir" "${libs[@]}" -Wl,-rpath,"$libdir" -lm
fi

model=${BENCH_MODEL:-}
if [ -z "$model" ]; then
	# big enough that the matrix products, not per-call overheads, set the pace
	model=$out/bench-llama-e512-l4.gguf
	[ -f "$model" ] || "$LLMBENCH" model make --arch llama --out "$model" --embd 512 --layers 4 \
		--heads 8 --ff 1536 --ctx 2048 --seed 1 >/dev/null
fi
ctx=$((PP > TG ? PP : TG))

# samples of one test from bench-model --json: "samples_ts":[a,b,...] of {"test":"pp512",...}
json_samples() { # file test
	grep -o "\"test\":\"$2\"[^}]*" "$1" | sed -n 's/.*"samples_ts":\[\([^]]*\)\].*/\1/p' | tr ',' ' '
}
: >"$out/llmbench.samples"
: >"$out/direct.samples"
for ((r = 1; r <= ROUNDS; r++)); do
	LLAMA_LIBDIR=$libdir "$direct" --model "$model" --threads "$THREADS" -p "$PP" -n "$TG" \
		-r "$REPS" --batch "$BATCH" --ctx "$ctx" >"$out/direct.$r.txt"
	awk '{ for (i = 4; i <= NF; i++) print $1, $i }' "$out/direct.$r.txt" >>"$out/direct.samples"
	"$LLMBENCH" bench-model --model "$model" --threads "$THREADS" -p "$PP" -n "$TG" -r "$REPS" \
		--batch "$BATCH" --no-serve --json >"$out/llmbench.$r.json"
	for t in "pp$PP" "tg$TG"; do
		for v in $(json_samples "$out/llmbench.$r.json" "$t"); do echo "$t $v"; done
	done >>"$out/llmbench.samples"
done

# mean ± sample stddev, and the median, of one test's samples
stat() { # file test
	awk -v t="$2" '$1 == t { print $2 }' "$1" | sort -g | awk '{ v[++n] = $1; s += $1; q += $1 * $1 }
		END { if (!n) { print "n/a n/a n/a"; exit } m = s / n; d = n > 1 ? (q - n * m * m) / (n - 1) : 0;
		      med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2;
		      printf "%.2f %.2f %.2f\n", m, (d > 0 ? sqrt(d) : 0), med }'
}
desc=$("$LLMBENCH" bench-model --model "$model" -p 1 -n 0 -r 1 --no-serve --no-warmup |
	awk -F'|' 'NR == 3 { gsub(/^ +| +$/, "", $2); gsub(/^ +| +$/, "", $3); gsub(/^ +| +$/, "", $4);
		print $2 ", " $3 ", " $4 " params" }')
echo "in-process speed, llmbench vs a direct llama.cpp loop: $desc"
echo "threads $THREADS, batch $BATCH, $ROUNDS rounds x $REPS repetitions each (alternating)"
echo
printf '| %-8s | %20s | %20s | %7s | %12s |\n' test "llmbench t/s" "direct llama.cpp t/s" ratio \
	"median ratio"
printf '| %-8s | %20s | %20s | %7s | %12s |\n' "--------" "-------------------:" \
	"-------------------:" "------:" "-----------:"
worst=
for t in "pp$PP" "tg$TG"; do
	read -r lm ls lmed < <(stat "$out/llmbench.samples" "$t")
	read -r dm ds dmed < <(stat "$out/direct.samples" "$t")
	ratio=$(awk -v a="$lm" -v b="$dm" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')
	mratio=$(awk -v a="$lmed" -v b="$dmed" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')
	printf '| %-8s | %21s | %21s | %7s | %12s |\n' "$t" "$lm ± $ls" "$dm ± $ds" "$ratio" "$mratio"
	worst=$(awk -v w="${worst:-9}" -v r="$ratio" 'BEGIN { print ((r != "n/a" && r < w) ? r : w) }')
done
echo
awk -v w="$worst" 'BEGIN { printf "lowest ratio of means %.3f: goal >= 0.98 %s\n", w, (w >= 0.98 ? "met" : "NOT met (compare the medians and stddevs: on a busy machine llama.cpp threads stall when preempted)") }'

echo
echo "served through the backend (continuous batching, greedy sampling):"
for p in 1 "$PARALLEL"; do
	"$LLMBENCH" bench-model --model "$model" --threads "$THREADS" -p "$PP" -n "$TG" -r 3 \
		--batch "$BATCH" --parallel "$p" | sed -n '/^served/,$p' | tail -n +$([ "$p" = 1 ] && echo 2 || echo 4)
done
