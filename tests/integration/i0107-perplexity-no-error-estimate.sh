#!/usr/bin/env bash
# A perplexity without an error estimate (one scored token: no variance to estimate from) shows
# and stores its error as unavailable, never as 0: JSON null, the text says why.
. "$(dirname "$0")/../lib.sh"

if "$LLMBENCH" bench-model --model "$TMP/none.gguf" 2>&1 | grep -q "not built in"; then
	test_skip "llama.cpp is not built in (make deps)"
	test_done
	exit
fi

python3 -c "print('the quick brown fox jumps over the lazy dog. ' * 40)" >"$TMP/text.txt"

test_expect_success 'make a model' '
	"$LLMBENCH" model make --arch llama --out "$TMP/m.gguf" --seed 9 --ctx 256
'

# ctx 4: each chunk scores 4 - 4/2 - 1 = 1 token; one chunk: one token
test_expect_success 'one scored token: ppl_err is null in JSON, not 0' '
	"$LLMBENCH" perplexity --model "$TMP/m.gguf" --text "$TMP/text.txt" --ctx 4 --batch 4 \
		--chunks 1 --threads 1 --json >out.json && cat out.json &&
	grep -q "\"n_scored\":1," out.json && grep -q "\"ppl_err\":null," out.json &&
	grep -q "\"ppl\":[0-9]" out.json
'

test_expect_success 'one scored token: the text says the error is unavailable and why' '
	"$LLMBENCH" perplexity --model "$TMP/m.gguf" --text "$TMP/text.txt" --ctx 4 --batch 4 \
		--chunks 1 --threads 1 >out && cat out &&
	grep -q "^Final estimate: PPL = [0-9.]* +/- unavailable: no error estimate (fewer than 2 scored tokens" out
'

test_expect_success 'many scored tokens: a positive error' '
	"$LLMBENCH" perplexity --model "$TMP/m.gguf" --text "$TMP/text.txt" --ctx 32 \
		--chunks 2 --threads 1 --json >out.json && cat out.json &&
	grep -q "\"ppl_err\":[0-9]*\.[0-9]*[1-9]" out.json
'

test_done
