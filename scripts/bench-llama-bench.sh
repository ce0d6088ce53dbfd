#!/usr/bin/env bash
# bench-llama-bench.sh: llmbench's in-process decode step beside the real `llama-bench` (part of
# `make bench`; a benchmark, not a test). Issue 17, point 3.
#
# Both measure pp PP and tg TG on the same generated mistral-shaped model (`llmbench model make
# --arch mistral`, quantized to QTYPE by `llmbench model quantize`), with the same threads, one
# repetition per call, the two programs alternating for REPS calls each so that a busy machine
# hurts both alike. Prints mean ± sample stddev and the median of each, and the ratio
# llmbench / llama-bench (goal >= 0.98), as lines "bench-llama-bench: <test> <llmbench mean>
# <sd> <llama-bench mean> <sd> <ratio of means> <ratio of medians>" and a table.
#
# llama-bench is built from the pinned source as scripts/build-llama-server.sh builds
# llama-server: same build folder (third_party/llama-build), target llama-bench. The build is
# started only when that folder already holds the finished llama-server and llama-perplexity
# (so that it never runs beside build-llama-server.sh in the same folder); otherwise the figure
# is unavailable, with the reason.
#
# Note: llmbench links the llama.cpp of third_party/llama (the npm build), llama-bench is built
# from third_party/llama-src with GGML_NATIVE; the ratio therefore includes any difference of the
# two builds of the same source, which the script states (`llama-bench --version` beside
# `llmbench --version`).
#
# Environment: LLMBENCH, LLAMA_BENCH (a llama-bench to use), THREADS (all cores), PP (256),
# TG (64), REPS (10), QTYPE (q8_0), BUILD=0 (never build llama-bench).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
LLMBENCH=${LLMBENCH:-$top/build/llmbench}
THREADS=${THREADS:-$(nproc)}
PP=${PP:-256}
TG=${TG:-64}
REPS=${REPS:-10}
QTYPE=${QTYPE:-q8_0}
out=$top/build/bench
bld=$top/third_party/llama-build
mkdir -p "$out"
say() { printf 'bench-llama-bench: %s\n' "$*" >&2; }
unavailable() {
	echo "bench-llama-bench: unavailable: $*"
	exit 0
}
[ -x "$LLMBENCH" ] || unavailable "no '$LLMBENCH' (run make)"

lb=${LLAMA_BENCH:-$bld/bin/llama-bench}
if [ ! -x "$lb" ]; then
	[ "${BUILD:-1}" = 0 ] && unavailable "no '$lb' (BUILD=0)"
	command -v cmake >/dev/null || unavailable "no '$lb' and no cmake to build it"
	if [ ! -x "$bld/bin/llama-server" ] || [ ! -x "$bld/bin/llama-perplexity" ] ||
		[ ! -f "$bld/CMakeCache.txt" ]; then
		unavailable "no '$lb'; third_party/llama-build has no finished llama-server build yet (make llama-server first; building llama-bench beside a running build of the same folder would collide)"
	fi
	say "building llama-bench in third_party/llama-build (target llama-bench)"
	cmake --build "$bld" -j "$(nproc)" --target llama-bench >>"$bld.log" 2>&1 ||
		unavailable "building llama-bench failed (see $bld.log)"
fi

model=$out/bench-mistral-e512-l4-$QTYPE.gguf
if [ ! -f "$model" ]; then
	f16=$out/bench-mistral-e512-l4-f16.gguf
	[ -f "$f16" ] || "$LLMBENCH" model make --arch mistral --out "$f16" --embd 512 --layers 4 \
		--heads 8 --kv-heads 2 --ff 1536 --ctx 2048 --seed 1 >/dev/null ||
		unavailable "llmbench model make failed"
	"$LLMBENCH" model quantize --threads "$THREADS" "$f16" "$model" "$QTYPE" >/dev/null ||
		unavailable "llmbench model quantize $QTYPE failed"
fi

: >"$out/llb.samples"
: >"$out/lcpp.samples"
say "model $model, $THREADS threads, pp$PP and tg$TG, $REPS calls each, alternating"
for ((r = 1; r <= REPS; r++)); do
	"$lb" -m "$model" -t "$THREADS" -p "$PP" -n "$TG" -r 1 -o json >"$out/lcpp.$r.json" 2>"$out/lcpp.err" ||
		unavailable "llama-bench failed: $(tail -n 1 "$out/lcpp.err")"
	"$LLMBENCH" bench-model --model "$model" --threads "$THREADS" -p "$PP" -n "$TG" -r 1 \
		--no-serve --json >"$out/llb.$r.json" 2>"$out/llb.err" ||
		unavailable "llmbench bench-model failed: $(tail -n 1 "$out/llb.err")"
	# llama-bench: a JSON array of {"n_prompt", "n_gen", "avg_ts", ...}; bench-model:
	# {"test":"pp256",...,"samples_ts":[...]}
	python3 - "$out/lcpp.$r.json" "$out/llb.$r.json" "$out/lcpp.samples" "$out/llb.samples" <<'EOF'
import json, re, sys
with open(sys.argv[3], "a") as f:
    for t in json.load(open(sys.argv[1])):
        name = ("pp%d" % t["n_prompt"]) if t["n_prompt"] else ("tg%d" % t["n_gen"])
        f.write("%s %s\n" % (name, t["avg_ts"]))
txt = open(sys.argv[2]).read()
with open(sys.argv[4], "a") as f:
    for m in re.finditer(r'"test":"(\w+)"[^}]*?"samples_ts":\[([^\]]*)\]', txt):
        for v in m.group(2).split(","):
            if v.strip():
                f.write("%s %s\n" % (m.group(1), v.strip()))
EOF
done

stat() { # file test -> mean sd median
	awk -v t="$2" '$1 == t { print $2 }' "$1" | sort -g | awk '{ v[++n] = $1; s += $1; q += $1 * $1 }
		END { if (!n) { print "n/a n/a n/a"; exit } m = s / n; d = n > 1 ? (q - n * m * m) / (n - 1) : 0;
		      med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2;
		      printf "%.2f %.2f %.2f\n", m, (d > 0 ? sqrt(d) : 0), med }'
}
echo "llama-bench: $("$lb" --version 2>&1 | head -n 1); llmbench: $("$LLMBENCH" --version 2>/dev/null | head -n 1)"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| test | llmbench bench-model t/s | llama-bench t/s | ratio of means | ratio of medians |"
echo "| --- | --- | --- | --- | --- |"
for t in "pp$PP" "tg$TG"; do
	read -r am asd amed < <(stat "$out/llb.samples" "$t")
	read -r bm bsd bmed < <(stat "$out/lcpp.samples" "$t")
	rm_=$(awk -v a="$am" -v b="$bm" 'BEGIN { if (b + 0 > 0 && a + 0 > 0) printf "%.3f", a / b; else print "n/a" }')
	rmed=$(awk -v a="$amed" -v b="$bmed" 'BEGIN { if (b + 0 > 0 && a + 0 > 0) printf "%.3f", a / b; else print "n/a" }')
	echo "| $t | $am ± $asd | $bm ± $bsd | $rm_ | $rmed |"
	echo "bench-llama-bench: $t $am $asd $bm $bsd $rm_ $rmed" >&2
done
