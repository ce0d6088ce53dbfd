#!/usr/bin/env bash
# `llmbench perplexity` equals the "Final estimate" of the reference llama-perplexity (built
# from the same pinned source) to 4 decimals on generated LLaMA, Mistral and Falcon models and
# a shipped text; the KL divergence of a model against itself is 0 with 100% same top; a
# quantized model has a positive KLD against its base.
. "$(dirname "$0")/../lib.sh"

if [ ! -e "$LB_TOP/third_party/llama/.ready" ] && [ -z "${LLAMA_PREFIX:-}" ]; then
	test_skip "llama.cpp is not built in (make deps)"
	test_done
	exit
fi
REF=$LB_TOP/third_party/llama-build/bin/llama-perplexity
TEXT=$LB_TOP/datasets/text/inference.txt

test_expect_success 'the reference llama-perplexity is built' '
	test -x "$REF" || bash "$LB_TOP/scripts/build-llama-server.sh"
'

ref_ppl() { # model ctx batch chunks -> "PPL +/- ERR" as llama-perplexity prints it
	local try out
	for try in 1 2; do # a second try only if the first printed no estimate at all
		"$REF" -m "$1" -f "$TEXT" -c "$2" -b "$3" --chunks "$4" -t 2 >"$TMP/ref.log" 2>&1
		out=$(sed -n 's/.*Final estimate: PPL = \([0-9.]*\) +\/- \([0-9.]*\).*/\1 \2/p' "$TMP/ref.log")
		[ -n "$out" ] && break
		echo "llama-perplexity printed no estimate (try $try):" >&2
		tail -n 5 "$TMP/ref.log" >&2
	done
	echo "$out"
}
our_ppl() {
	"$LLMBENCH" perplexity --model "$1" --text "$TEXT" --ctx "$2" --batch "$3" --chunks "$4" \
		--threads 2 | sed -n 's/^Final estimate: PPL = \([0-9.]*\) +\/- \([0-9.]*\).*/\1 \2/p'
}

for a in llama mistral falcon; do
	test_expect_success "make a tiny $a model" '
		"$LLMBENCH" model make --arch '$a' --out '$a'.gguf --layers 1
	'
	for b in 128 512; do
		test_expect_success "$a: PPL equals llama-perplexity (ctx 128, batch $b)" '
			r=$(ref_ppl '$a'.gguf 128 '$b' 8) && o=$(our_ppl '$a'.gguf 128 '$b' 8) &&
			echo "llmbench: $o | llama-perplexity: $r" && test -n "$r" &&
			test "${o% *}" = "${r% *}" &&
			awk -v a="${o#* }" -v b="${r#* }" "BEGIN { d = a - b; exit !(d < 1e-4 && d > -1e-4) }"
		'
	done
done

test_expect_success 'batch smaller than ctx (two decodes per chunk) also matches' '
	r=$(ref_ppl llama.gguf 128 64 4) && o=$(our_ppl llama.gguf 128 64 4) &&
	echo "llmbench: $o | llama-perplexity: $r" && test "${o% *}" = "${r% *}"
'

test_expect_success 'bits per byte and the scored-token count are printed' '
	"$LLMBENCH" perplexity --model llama.gguf --text "$TEXT" --ctx 128 --chunks 4 >out &&
	grep -q "^bits per byte: [0-9.]* (252 scored tokens, [0-9]* bytes)$" out
'

test_expect_success '--json carries method, n_ctx, batch, BOS policy and scored tokens' '
	"$LLMBENCH" perplexity --model falcon.gguf --text "$TEXT" --ctx 128 --batch 128 --chunks 2 --json >out &&
	grep -q "\"method\":\"llama.cpp perplexity" out && grep -q "\"n_ctx\":128,\"n_batch\":128" out &&
	grep -q "\"bos_policy\":\"no bos\"" out && grep -q "\"n_scored\":126" out
'

test_expect_success 'KLD of a model against itself is 0 with 100% same top' '
	"$LLMBENCH" perplexity --model mistral.gguf --kl-base mistral.gguf --text "$TEXT" --ctx 128 --chunks 4 >out &&
	cat out && grep -q "^Mean    KLD:   0.000000 ±   0.000000$" out &&
	grep -q "^Maximum KLD:   0.000000$" out && grep -q "^Same top p: 100.000 ± 0.000 %$" out &&
	grep -q "^Mean PPL(Q)/PPL(base)         :   1.000000" out
'

test_expect_success 'a q4_0 model has a positive KLD against its F16 base' '
	"$LLMBENCH" model quantize llama.gguf q4.gguf q4_0 &&
	"$LLMBENCH" perplexity --model q4.gguf --kl-base llama.gguf --text "$TEXT" --ctx 128 --chunks 4 --json >out &&
	cat out && sed "s/.*\"kld\":{[^}]*\"mean\":\([^,]*\),.*/\1/" out >m && cat m &&
	awk "{ exit !(\$1 > 0.0001) }" m
'

test_expect_code 2 'a base with another vocabulary is refused' '
	"$LLMBENCH" perplexity --model llama.gguf --kl-base falcon.gguf --text "$TEXT" --ctx 128 2>err; rc=$?
	cat err; grep -q "not the same model" err && exit $rc
'
test_done
