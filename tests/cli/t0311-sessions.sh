#!/usr/bin/env bash
# llmbench sessions stats: counts of a ShareGPT file and a generator spec (model turns counted
# as not sent), JSON output, and bad conversations as one error naming PATH:LINE (exit 2).
. "$(dirname "$0")/../lib.sh"

cat >"$TMP/c.json" <<'EOF2'
[
 {"id": "a", "conversations": [{"from": "system", "value": "be brief"},
   {"from": "human", "value": "one two three"}, {"from": "gpt", "value": "reply"},
   {"from": "human", "value": "four"}]},
 {"messages": [{"role": "user", "content": "x y"}]}
]
EOF2
test_expect_success 'stats of a file: conversations, turns, model turns not sent' '
	"$LLMBENCH" sessions stats "$TMP/c.json" >out && cat out &&
	grep -q "^conversations          2 (1 with a system prompt)$" out &&
	grep -q "^user turns             3$" out &&
	grep -q "^model turns not sent   1 " out &&
	grep -q "^user_turn_words        n 3  mean 2  p50 2  max 3$" out
'
printf '{"sessions": 5, "turns": 3, "user_tokens": [4, 8], "output_tokens": 7, "think_ms": 20}\n' >"$TMP/g.json"
test_expect_success 'stats of a generator spec, as JSON' '
	"$LLMBENCH" sessions stats --json "$TMP/g.json" >out && cat out &&
	grep -q "\"conversations\": 5, \"user_turns\": 15," out &&
	grep -q "\"think_ms\": {\"n\": 10, \"mean\": 20," out &&
	grep -q "\"reply_tokens\": {\"n\": 15, \"mean\": 7," out
'
printf '{"messages": [{"role": "user", "content": "a"}]}\n{"messages": [{"role": "robot", "content": "b"}]}\n' >"$TMP/bad.jsonl"
test_expect_code 2 'a bad conversation names PATH:LINE' '
	"$LLMBENCH" sessions stats "$TMP/bad.jsonl" 2>err; rc=$?; cat err;
	grep -q "bad.jsonl'"'"':2: messages\[0\]: unknown role \"robot\"" err && exit $rc
'
test_expect_code 2 'a spec typo gets "did you mean"' '
	printf "{\"sessions\": 2, \"think\": 5}" >s.json &&
	"$LLMBENCH" sessions stats s.json 2>err; rc=$?; cat err; grep -q "did you mean '"'"'think_ms'"'"'" err && exit $rc
'
test_expect_code 2 'no subcommand' '"$LLMBENCH" sessions'
test_done
