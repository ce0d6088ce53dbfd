#!/usr/bin/env bash
# `llmbench model make` writes tiny LLaMA, Mistral and Falcon GGUFs that llama.cpp loads;
# `model info` shows each family's architecture, vocabulary and GQA; --help everywhere.
. "$(dirname "$0")/../lib.sh"

if [ ! -e "$LB_TOP/third_party/llama/.ready" ] && [ -z "${LLAMA_PREFIX:-}" ]; then
	test_skip "llama.cpp is not built in (make deps)"
	test_done
	exit
fi

test_expect_success 'model --help and each sub-verb --help print usage' '
	"$LLMBENCH" model --help | grep -q "model make" &&
	"$LLMBENCH" model make --help | grep -q -- "--kv-heads" &&
	"$LLMBENCH" model quantize --help | grep -q "q4_k_m" &&
	"$LLMBENCH" model info --help | grep -q -- "--json"
'

for a in llama mistral falcon; do
	test_expect_success "make a tiny $a model" '
		"$LLMBENCH" model make --arch '$a' --out '$a'.gguf --layers 1 --seed 7 &&
		test -s '$a'.gguf && ! ls .'$a'.gguf.tmp.* 2>/dev/null
	'
done

test_expect_success 'llama: arch llama, spm vocabulary, no GQA' '
	"$LLMBENCH" model info llama.gguf >out &&
	grep -q "^arch: *llama$" out && grep -q "^vocab: *spm (llama), 32000 tokens, adds BOS" out &&
	grep -q "^kv-heads: *4$" out && grep -q "^file type: *F16$" out &&
	grep -q "^n_ctx_train: *512$" out && grep -q "^layers: *1$" out
'

test_expect_success 'mistral: arch llama with GQA (2 of 4 heads) and a sliding-window key' '
	"$LLMBENCH" model info --json mistral.gguf >out &&
	grep -q "\"arch\":\"llama\"" out && grep -q "\"n_head\":4,\"n_head_kv\":2,\"gqa\":true" out &&
	grep -q "\"sliding_window\":512" out
'

test_expect_success 'falcon: arch falcon, BPE vocabulary of 65024 tokens' '
	"$LLMBENCH" model info falcon.gguf >out &&
	grep -q "^arch: *falcon$" out && grep -q "^vocab: *bpe (gpt2), 65024 tokens" out
'

test_expect_success 'the same seed gives the same file, another seed another' '
	"$LLMBENCH" model make --arch llama --out again.gguf --layers 1 --seed 7 &&
	cmp llama.gguf again.gguf &&
	"$LLMBENCH" model make --arch llama --out other.gguf --layers 1 --seed 8 &&
	! cmp -s llama.gguf other.gguf
'

test_expect_success 'sizes are honoured' '
	"$LLMBENCH" model make --arch llama --out big.gguf --embd 128 --layers 3 --heads 8 --kv-heads 2 --ff 384 --ctx 256 &&
	"$LLMBENCH" model info --json big.gguf >out &&
	grep -q "\"n_ctx_train\":256,\"n_embd\":128,\"n_layer\":3,\"n_head\":8,\"n_head_kv\":2" out
'

test_expect_code 2 'unknown --arch is a usage error' '
	"$LLMBENCH" model make --arch gpt9 --out x.gguf 2>err; rc=$?; cat err
	grep -q "unknown --arch" err && test ! -e x.gguf && exit $rc
'
test_expect_code 2 'heads that do not divide embd are a usage error' '
	"$LLMBENCH" model make --arch llama --out x.gguf --embd 100 --heads 3 2>err; rc=$?; cat err
	grep -q "not a multiple" err && test ! -e x.gguf && exit $rc
'
test_expect_code 2 'a missing vocabulary is a usage error and writes nothing' '
	"$LLMBENCH" model make --arch llama --out x.gguf --vocab nope.gguf 2>err; rc=$?; cat err
	grep -q "nope.gguf" err && test ! -e x.gguf && ! ls .x.gguf.tmp.* 2>/dev/null && exit $rc
'
test_expect_code 2 'model info of a missing file names it' '
	"$LLMBENCH" model info missing.gguf 2>err; rc=$?; cat err
	grep -q "cannot open model .missing.gguf.: No such file" err && exit $rc
'
test_done
