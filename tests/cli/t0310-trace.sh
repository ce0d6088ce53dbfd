#!/usr/bin/env bash
# `llmbench trace stats` and `trace gen`: exact figures on a hand-made trace (count, duration,
# rate by tenth, lengths, the best-case prefix hit rate of the hash ids), every kind of bad line
# named file:line with exit 2, and a generator whose reuse shows in stats.
. "$(dirname "$0")/../lib.sh"

cat >"$TMP/t.jsonl" <<'T'
{"timestamp": 0, "input_length": 1024, "output_length": 10, "hash_ids": [1, 2]}
{"timestamp": 500, "input_length": 1500, "output_length": 20, "hash_ids": [1, 2, 3]}

{"timestamp": 1000, "input_length": 600, "output_length": 30, "hash_ids": [9, 2]}
{"timestamp": 2000, "input_length": 1100, "output_length": 40, "hash_ids": [1, 2, 3]}
T

test_expect_success 'stats: count, duration, rate, lengths' '
	"$LLMBENCH" trace stats t.jsonl >out && cat out &&
	grep -q "^requests      4$" out && grep -q "^duration      2.000 s" out &&
	grep -q "^rate          2.000 req/s$" out &&
	grep -q "^input tokens  mean 1056.0  p50 1062  p90 1380  p99 1488  max 1500  total 4224$" out &&
	grep -q "^output tokens mean 25.0  p50 25 " out
'
# hits: line 2 reuses blocks 1,2 (1024 tokens); line 4 reuses 1,2,3 (512+512+76); line 3
# starts with 9 (new): 0. Hit rate = (1024 + 1100) / 4224.
test_expect_success 'stats: the best-case hit rate counts leading reused blocks in tokens' '
	"$LLMBENCH" trace stats --json t.jsonl >j && cat j &&
	python3 -c "
import json; j = json.load(open(\"j\"))
assert j[\"requests\"] == 4 and j[\"hash_ids\"] == 10 and j[\"unique_hash_ids\"] == 4, j
assert abs(j[\"best_case_prefix_hit_rate\"] - 2124 / 4224) < 1e-12, j
assert j[\"bin_rate\"] == [5, 0, 5, 0, 0, 5, 0, 0, 0, 5], j[\"bin_rate\"]
"
'
test_expect_success 'stats: text prompts with timestamps are a trace too; no hash ids: unavailable' '
	printf "{\"timestamp\": 0, \"prompt\": \"hi\"}\n{\"timestamp\": 10, \"prompt\": \"yo\"}\n" >p.jsonl &&
	"$LLMBENCH" trace stats p.jsonl >out && cat out &&
	grep -q "^requests      2$" out && grep -q "hit rate is unavailable" out &&
	grep -q "^input tokens  unavailable" out
'
bad() { # name line expected-message-part
	test_expect_code 2 "bad input: $1" '
		printf "%s\n" "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 1}" '"'$2'"' >b.jsonl &&
		"$LLMBENCH" trace stats b.jsonl 2>err; rc=$?; cat err;
		grep -qF "b.jsonl:2: '"$3"'" err && exit $rc
	'
}
bad 'negative timestamp' '{"timestamp": -1, "input_length": 5, "output_length": 1}' "'timestamp' must be a number of ms >= 0"
bad 'negative input' '{"timestamp": 1, "input_length": -5, "output_length": 1}' "'input_length' must be a whole number in 1..1048576"
bad 'missing timestamp' '{"input_length": 5, "output_length": 1}' "'timestamp' is missing"
bad 'missing output' '{"timestamp": 1, "input_length": 5}' "'output_length' is missing"
bad 'missing input' '{"timestamp": 1, "output_length": 5}' "'input_length' is missing"
bad 'too many hash ids' '{"timestamp": 1, "input_length": 513, "output_length": 1, "hash_ids": [1, 2, 3]}' "3 hash ids, but input_length 513 holds at most 2 blocks of 512 tokens"
bad 'bad hash id' '{"timestamp": 1, "input_length": 513, "output_length": 1, "hash_ids": [1, -2]}' "hash_ids[1] must be a whole number >= 0"
bad 'not JSON' '{"timestamp": 1,' "not a JSON object"
test_expect_code 2 'an unsorted trace names the line and the earlier one' '
	printf "{\"timestamp\": 5, \"input_length\": 1, \"output_length\": 1}\n{\"timestamp\": 4, \"input_length\": 1, \"output_length\": 1}\n" >u.jsonl &&
	"$LLMBENCH" trace stats u.jsonl 2>err; rc=$?; cat err;
	grep -qF "u.jsonl:2: timestamp 4 is before line 1" err && grep -q "sorted" err && exit $rc
'
test_expect_code 2 'an empty trace is an error' ': >e.jsonl && "$LLMBENCH" trace stats e.jsonl'
test_expect_code 2 'gen without --rate is an error' '"$LLMBENCH" trace gen --requests 3'
test_expect_success 'gen: constant rate, full reuse: every later request hits all its blocks' '
	"$LLMBENCH" trace gen --requests 5 --rate 2 --arrival constant --input-tokens 1024 --reuse 1 -o g.jsonl &&
	cat g.jsonl && test "$(wc -l <g.jsonl)" = 5 &&
	"$LLMBENCH" trace stats --json g.jsonl >j && python3 -c "
import json; j = json.load(open(\"j\"))
assert j[\"duration_s\"] == 2.0 and j[\"rate\"] == 2.5, j
assert abs(j[\"best_case_prefix_hit_rate\"] - 0.8) < 1e-12, j
"
'
test_expect_success 'gen: no reuse gives a 0 hit rate; the same seed the same trace' '
	"$LLMBENCH" trace gen --requests 300 --rate 50 --input-tokens 100-3000 --seed 4 >a &&
	"$LLMBENCH" trace gen --requests 300 --rate 50 --input-tokens 100-3000 --seed 4 >b &&
	cmp a b && "$LLMBENCH" trace stats a | grep -q "hit rate 0.0%"
'
test_expect_success 'the shipped trace loads and has reuse' '
	"$LLMBENCH" trace stats "$LB_TOP/datasets/traces/mooncake-small.jsonl" >out && cat out &&
	grep -q "^requests      200$" out && grep -q "hit rate 34.2%" out
'
test_expect_code 3 'trace gen -o into a missing folder says why' '
	"$LLMBENCH" trace gen --requests 3 --rate 1 -o nodir/t.jsonl 2>err; rc=$?; cat err
	grep -q "cannot write .nodir/t.jsonl.: No such file or directory" err && exit $rc
'
test_done
