#!/usr/bin/env bash
# Bad input to `llmbench perplexity` and `model quantize` exits 2 with a message naming the
# problem, and writes nothing: missing GGUF, truncated GGUF, a text shorter than 2*ctx tokens,
# an unknown quantization type, a ctx larger than the model's.
. "$(dirname "$0")/../lib.sh"

if [ ! -e "$LB_TOP/third_party/llama/.ready" ] && [ -z "${LLAMA_PREFIX:-}" ]; then
	test_skip "llama.cpp is not built in (make deps)"
	test_done
	exit
fi
TEXT=$LB_TOP/datasets/text/measurement.txt

test_expect_success 'perplexity --help prints usage' '
	"$LLMBENCH" perplexity --help | grep -q -- "--kl-base"
'
test_expect_success 'make a tiny model with a 256-token context' '
	"$LLMBENCH" model make --arch llama --out m.gguf --layers 1 --ctx 256 &&
	head -c 5000000 m.gguf >cut.gguf && printf "GGUF" >junk.gguf
'
ls_new() { ls -A | grep -v -e "^m.gguf$" -e "^cut.gguf$" -e "^junk.gguf$" -e "^err$"; }

test_expect_code 2 'missing GGUF' '
	"$LLMBENCH" perplexity --model nope.gguf --text "$TEXT" --ctx 128 2>err; rc=$?; cat err
	grep -q "cannot open model .nope.gguf.: No such file or directory" err && test -z "$(ls_new)" && exit $rc
'
test_expect_code 2 'truncated GGUF' '
	"$LLMBENCH" perplexity --model cut.gguf --text "$TEXT" --ctx 128 2>err; rc=$?; cat err
	grep -q "model .cut.gguf. is truncated" err && test -z "$(ls_new)" && exit $rc
'
test_expect_code 2 'a file that is not a whole GGUF header' '
	"$LLMBENCH" perplexity --model junk.gguf --text "$TEXT" --ctx 128 2>err; rc=$?; cat err
	grep -q "junk.gguf. is a corrupt GGUF file" err && exit $rc
'
test_expect_code 2 'a text too short for 2*ctx tokens says how many it has and needs' '
	echo "Too short a text." >short.txt &&
	"$LLMBENCH" perplexity --model m.gguf --text short.txt --ctx 128 2>err; rc=$?; cat err
	grep -q "text .short.txt. has [0-9]* tokens; perplexity with --ctx 128 needs at least 256" err && exit $rc
'
test_expect_code 2 'a ctx larger than the model was trained on' '
	"$LLMBENCH" perplexity --model m.gguf --text "$TEXT" --ctx 512 2>err; rc=$?; cat err
	grep -q -- "--ctx 512 is larger than the context model .m.gguf. was trained on (256)" err && exit $rc
'
test_expect_code 2 'a missing text' '
	"$LLMBENCH" perplexity --model m.gguf --text nope.txt 2>err; rc=$?; cat err
	grep -q "cannot open text .nope.txt." err && exit $rc
'
test_expect_code 2 'unknown quantization type' '
	"$LLMBENCH" model quantize m.gguf out.gguf q7_x 2>err; rc=$?; cat err
	grep -q "unknown quantization type .q7_x." err && test ! -e out.gguf && exit $rc
'
test_expect_code 2 'quantizing a truncated GGUF writes nothing' '
	"$LLMBENCH" model quantize cut.gguf out.gguf q4_0 2>err; rc=$?; cat err
	grep -q "truncated" err && test -z "$(ls -A | grep out.gguf)" && exit $rc
'
test_expect_success 'a batch above ctx is cut to a whole number of chunks, as llama-perplexity does' '
	"$LLMBENCH" perplexity --model m.gguf --text "$TEXT" --ctx 128 --batch 200 --chunks 2 >out &&
	grep -q "batch 128 (1 sequence per pass)" out
'
test_expect_code 2 'missing --model' '
	"$LLMBENCH" perplexity --text "$TEXT" 2>err; rc=$?; cat err; grep -q -- "--model FILE is required" err && exit $rc
'
test_done
