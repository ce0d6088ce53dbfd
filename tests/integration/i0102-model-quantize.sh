#!/usr/bin/env bash
# `llmbench model quantize` writes each quantization level llama.cpp knows and reports it;
# unknown types, missing and corrupt inputs exit 2 and leave no output file.
. "$(dirname "$0")/../lib.sh"

if [ ! -e "$LB_TOP/third_party/llama/.ready" ] && [ -z "${LLAMA_PREFIX:-}" ]; then
	test_skip "llama.cpp is not built in (make deps)"
	test_done
	exit
fi

test_expect_success 'make a tiny llama model' '
	"$LLMBENCH" model make --arch llama --out base.gguf --layers 1
'

expect_type() { # quant "file type" text as llama.cpp names it
	case $1 in
	f16) echo "F16" ;; q8_0) echo "Q8_0" ;; q6_k) echo "Q6_K" ;; q5_k_m) echo "Q5_K - Medium" ;;
	q4_k_m) echo "Q4_K - Medium" ;; q4_0) echo "Q4_0" ;;
	esac
}
for q in f16 q8_0 q6_k q5_k_m q4_k_m q4_0; do
	t=$(expect_type $q)
	test_expect_success "quantize to $q" '
		"$LLMBENCH" model quantize --threads 2 base.gguf '$q'.gguf '$q' &&
		"$LLMBENCH" model info '$q'.gguf >out && grep -q "^file type: *'"$t"'$" out &&
		! ls .'$q'.gguf.tmp.* 2>/dev/null
	'
done

test_expect_success 'lower precision gives a smaller file' '
	s8=$(stat -c %s q8_0.gguf); s4=$(stat -c %s q4_0.gguf); s16=$(stat -c %s f16.gguf) &&
	echo "$s16 $s8 $s4" && [ "$s4" -lt "$s8" ] && [ "$s8" -lt "$s16" ]
'

test_expect_code 2 'an unknown quantization type lists the known ones and writes nothing' '
	"$LLMBENCH" model quantize base.gguf out.gguf q3_z 2>err; rc=$?; cat err
	grep -q "unknown quantization type .q3_z." err && grep -q "q4_k_m" err &&
	test ! -e out.gguf && exit $rc
'
test_expect_code 2 'a missing input is a usage error and writes nothing' '
	"$LLMBENCH" model quantize nope.gguf out.gguf q4_0 2>err; rc=$?; cat err
	grep -q "cannot open model .nope.gguf." err && test ! -e out.gguf && exit $rc
'
test_expect_code 2 'a truncated input is a usage error and writes nothing' '
	head -c 100000 base.gguf >cut.gguf &&
	"$LLMBENCH" model quantize cut.gguf out.gguf q4_0 2>err; rc=$?; cat err
	grep -q "cut.gguf" err && test ! -e out.gguf && ! ls .out.gguf.tmp.* 2>/dev/null && exit $rc
'
test_expect_code 2 'wrong argument count is a usage error' '
	"$LLMBENCH" model quantize base.gguf 2>err; rc=$?; cat err; exit $rc
'
test_done
