#!/usr/bin/env bash
# `llmbench sim --answers`: a prompt (or the last user message) containing "match" gets that
# answer, one token per word, whatever --output-tokens says, capped by max_tokens; JSON escaping
# of answers; prompts without a match get generated words.
. "$(dirname "$0")/../lib.sh"

cat >"$TMP/answers.jsonl" <<'JSONL'
{"match": "capital of France", "answer": "The capital is Paris."}
{"match": "2+2", "answer": "4"}

{"match": "unsure", "answer": "I don't know."}
{"match": "quote", "answer": "He said \"hi\" \\ caf\u00e9"}
JSONL
start_sim PORT --ttft-ms 2 --itl-ms 1 --output-tokens 50 --answers "$TMP/answers.jsonl" || exit 1

post() { # path json [curl args...]
	local path=$1 json=$2
	shift 2
	curl -sS -N "http://127.0.0.1:$PORT$path" -d "$json" "$@"
}

test_expect_success 'a matching prompt gets its answer, one token per word' '
	post /v1/completions "{\"prompt\": \"Q: what is the capital of France? A:\"}" >n.json && cat n.json &&
	grep -q "\"text\":\" The capital is Paris.\",\"logprobs\":null,\"finish_reason\":\"stop\"" n.json &&
	grep -q "\"completion_tokens\":4," n.json
'
test_expect_success 'streamed: one chunk per word, the words in order' '
	post /v1/completions "{\"prompt\": \"capital of France\", \"stream\": true}" >s.txt &&
	grep -o "\"text\":\"[^\"]*\",\"logprobs\":null,\"finish_reason\":null" s.txt |
		sed "s/\"text\":\"\([^\"]*\)\".*/\1/" | tr -d "\n" >t &&
	test "$(cat t)" = " The capital is Paris."
'
test_expect_success 'max_tokens caps an answer (finish_reason length)' '
	post /v1/completions "{\"prompt\": \"capital of France\", \"max_tokens\": 2}" >n.json &&
	grep -q "\"text\":\" The capital\",\"logprobs\":null,\"finish_reason\":\"length\"" n.json
'
test_expect_success 'chat: the last user message decides, not earlier ones' '
	post /v1/chat/completions "{\"messages\": [{\"role\": \"user\", \"content\": \"capital of France?\"},
		{\"role\": \"assistant\", \"content\": \"Paris\"}, {\"role\": \"user\", \"content\": \"and 2+2?\"}]}" >n.json &&
	cat n.json && grep -q "\"content\":\" 4\"}" n.json && grep -q "\"completion_tokens\":1," n.json &&
	post /v1/chat/completions "{\"messages\": [{\"role\": \"system\", \"content\": \"unsure\"},
		{\"role\": \"user\", \"content\": \"hello\"}]}" >n.json &&
	grep -q "\"completion_tokens\":50," n.json
'
test_expect_success 'an abstaining answer and JSON escaping' '
	post /v1/completions "{\"prompt\": \"unsure\"}" | grep -q "\"text\":\" I don'\''t know.\"" &&
	post /v1/completions "{\"prompt\": \"quote me\"}" >n.json && cat n.json &&
	grep -qF "\"text\":\" He said \\\"hi\\\" \\\\ café\"" n.json
'
test_expect_success 'no match: generated words, --output-tokens of them' '
	post /v1/completions "{\"prompt\": \"nothing to see\"}" | grep -q "\"completion_tokens\":50,"
'
test_done
