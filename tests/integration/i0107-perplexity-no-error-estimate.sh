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

# ctx 4 with the default batch (2048) would be 512 sequences per pass, more than llama.cpp's
# 256: capped, with the same figures as a small batch
test_expect_success 'ctx 4, default batch: capped at 256 sequences per pass, same perplexity' '
	python3 -c "print(\"the quick brown fox jumps over the lazy dog. \" * 200)" >long.txt &&
	"$LLMBENCH" perplexity --model "$TMP/m.gguf" --text long.txt --ctx 4 --chunks 300 \
		--threads 1 >big && cat big &&
	grep -q "256 sequences per pass" big &&
	"$LLMBENCH" perplexity --model "$TMP/m.gguf" --text long.txt --ctx 4 --batch 8 --chunks 300 \
		--threads 1 >small &&
	test "$(grep "^Final estimate" big)" = "$(grep "^Final estimate" small)"
'

test_done
