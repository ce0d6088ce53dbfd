#!/usr/bin/env bash
# `llmbench sim` response shapes: streamed and non-streamed completions and chat, usage with and
# without stream_options.include_usage, max_tokens, --tokens-per-chunk, token-id prompts, seeded
# output lengths, /v1/models, /health, keep-alive, Expect: 100-continue, and the HTTP errors for
# bad requests (400, 404, 405, 413).
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 5 --itl-ms 1 --output-tokens 6 --max-body 2000 --model tiny-sim || exit 1
start_sim PORT4 --ttft-ms 5 --itl-ms 1 --output-tokens 10 --tokens-per-chunk 4 || exit 1
start_sim PORTR --ttft-ms 0 --itl-ms 0 --output-tokens 3-9 --seed 7 || exit 1

post() { # port path json [curl args...]: the body on stdout
	local port=$1 path=$2 json=$3
	shift 3
	curl -sS -N "http://127.0.0.1:$port$path" -H "Content-Type: application/json" -d "$json" "$@"
}
content_chunks() { grep -c '^data: {.*"finish_reason":null' "$1"; }

test_expect_success 'streamed completions: 6 one-word chunks, finish, usage, [DONE]' '
	post $PORT /v1/completions "{\"prompt\": \"one two three\", \"stream\": true,
		\"stream_options\": {\"include_usage\": true}}" >s.txt && cat s.txt &&
	test "$(grep -c "^data: " s.txt)" = 9 &&
	test "$(grep "^data: {" s.txt | grep -c "^data: {\"id\":\"cmpl-sim-[0-9]*\",\"object\":\"text_completion\",\"created\":[0-9]*,\"model\":\"tiny-sim\",")" = 8 &&
	test "$(grep -Ec "\"choices\":\[\{\"index\":0,\"text\":\" [a-z]+\",\"logprobs\":null,\"finish_reason\":null\}\]\}$" s.txt)" = 6 &&
	grep "^data: " s.txt | sed -n 7p | grep -q "\"text\":\"\",\"logprobs\":null,\"finish_reason\":\"stop\"}]}$" &&
	grep "^data: " s.txt | sed -n 8p | grep -q "\"choices\":\[\],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":6,\"total_tokens\":9}}$" &&
	test "$(grep "^data: " s.txt | tail -n 1)" = "data: [DONE]" &&
	test "$(grep -vc "^data: \|^$" s.txt)" = 0
'
test_expect_success 'streamed completions without include_usage: no usage chunk' '
	post $PORT /v1/completions "{\"prompt\": \"one two\", \"stream\": true}" >s.txt &&
	test "$(content_chunks s.txt)" = 6 && ! grep -q usage s.txt &&
	test "$(grep "^data: " s.txt | tail -n 1)" = "data: [DONE]"
'
test_expect_success 'streamed chat: role chunk, 6 delta.content chunks, finish, usage, [DONE]' '
	post $PORT /v1/chat/completions "{\"messages\": [{\"role\": \"system\", \"content\": \"be brief\"},
		{\"role\": \"user\", \"content\": \"hello there you\"}], \"stream\": true,
		\"stream_options\": {\"include_usage\": true}}" >c.txt && cat c.txt &&
	grep "^data: " c.txt | head -n 1 | grep -q "\"object\":\"chat.completion.chunk\",.*\"choices\":\[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"logprobs\":null,\"finish_reason\":null}\]}$" &&
	test "$(grep -Ec "\"delta\":\{\"content\":\" [a-z]+\"\},\"logprobs\":null,\"finish_reason\":null" c.txt)" = 6 &&
	grep -q "\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"" c.txt &&
	grep -q "\"choices\":\[\],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6,\"total_tokens\":11}" c.txt &&
	grep -q "^data: {\"id\":\"chatcmpl-sim-" c.txt &&
	test "$(grep "^data: " c.txt | tail -n 1)" = "data: [DONE]"
'
test_expect_success 'non-streamed completions: one body with text and usage' '
	post $PORT /v1/completions "{\"prompt\": \"a b c d\"}" -i >n.txt && cat n.txt &&
	grep -q "^Content-Type: application/json" n.txt &&
	tail -n 1 n.txt | grep -Eq "^\{\"id\":\"cmpl-sim-[0-9]+\",\"object\":\"text_completion\",\"created\":[0-9]+,\"model\":\"tiny-sim\",\"choices\":\[\{\"index\":0,\"text\":\"( [a-z]+){6}\",\"logprobs\":null,\"finish_reason\":\"stop\"\}\],\"usage\":\{\"prompt_tokens\":4,\"completion_tokens\":6,\"total_tokens\":10\}\}$"
'
test_expect_success 'non-streamed chat: message content and usage; the model is echoed' '
	post $PORT /v1/chat/completions "{\"model\": \"m1\", \"messages\": [{\"role\": \"user\",
		\"content\": [{\"type\": \"text\", \"text\": \"x y\"}]}], \"stream\": false}" >n.txt && cat n.txt &&
	grep -Eq "^\{\"id\":\"chatcmpl-sim-[0-9]+\",\"object\":\"chat.completion\",\"created\":[0-9]+,\"model\":\"m1\",\"choices\":\[\{\"index\":0,\"message\":\{\"role\":\"assistant\",\"content\":\"( [a-z]+){6}\"\},\"logprobs\":null,\"finish_reason\":\"stop\"\}\],\"usage\":\{\"prompt_tokens\":2,\"completion_tokens\":6,\"total_tokens\":8\}\}$" n.txt
'
test_expect_success 'max_tokens caps the output; finish_reason length' '
	post $PORT /v1/completions "{\"prompt\": \"a\", \"max_tokens\": 3, \"stream\": true,
		\"stream_options\": {\"include_usage\": true}}" >s.txt &&
	test "$(content_chunks s.txt)" = 3 && grep -q "\"finish_reason\":\"length\"" s.txt &&
	grep -q "\"completion_tokens\":3," s.txt &&
	post $PORT /v1/chat/completions "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}],
		\"max_completion_tokens\": 2}" >n.txt &&
	grep -Eq "\"content\":\"( [a-z]+){2}\"\},\"logprobs\":null,\"finish_reason\":\"length\"" n.txt
'
test_expect_success '--tokens-per-chunk 4: chunks of 4, 4 and 2 words' '
	post $PORT4 /v1/completions "{\"prompt\": \"a\", \"stream\": true,
		\"stream_options\": {\"include_usage\": true}}" >s.txt && cat s.txt &&
	grep -o "\"text\":\"[^\"]*\",\"logprobs\":null,\"finish_reason\":null" s.txt |
		sed "s/\"text\":\"\([^\"]*\)\".*/\1/" | awk "{ print NF }" | tr "\n" " " >n &&
	test "$(cat n)" = "4 4 2 " && grep -q "\"completion_tokens\":10," s.txt
'
test_expect_success 'a token-id prompt counts its ids' '
	post $PORT /v1/completions "{\"prompt\": [1, 2, 3, 4, 5]}" | grep -q "\"prompt_tokens\":5,"
'
test_expect_success '--output-tokens 3-9: lengths vary within the range, fixed per request id' '
	for i in $(seq 30); do
		post $PORTR /v1/completions "{\"prompt\": \"a\"}" -H "X-LLMBench-Request-Id: r$i" |
			sed "s/.*\"completion_tokens\":\([0-9]*\),.*/\1/"
		echo
	done >lens && sort -n lens | uniq -c &&
	test "$(sort -n lens | head -n 1)" -ge 3 && test "$(sort -n lens | tail -n 1)" -le 9 &&
	test "$(sort -u lens | wc -l)" -ge 4 &&
	a=$(post $PORTR /v1/completions "{\"prompt\": \"a\"}" -H "X-LLMBench-Request-Id: r7" | sed "s/\"created\":[0-9]*//; s/-sim-[0-9]*//") &&
	b=$(post $PORTR /v1/completions "{\"prompt\": \"a\"}" -H "X-LLMBench-Request-Id: r7" | sed "s/\"created\":[0-9]*//; s/-sim-[0-9]*//") &&
	test "$a" = "$b"
'
test_expect_success 'GET /v1/models and /health' '
	curl -sf "http://127.0.0.1:$PORT/v1/models" >m.json && cat m.json &&
	grep -q "^{\"object\":\"list\",\"data\":\[{\"id\":\"tiny-sim\",\"object\":\"model\"" m.json &&
	test "$(curl -sf "http://127.0.0.1:$PORT/health")" = "{\"status\":\"ok\"}"
'
test_expect_success 'keep-alive: two requests on one connection' '
	curl -sv "http://127.0.0.1:$PORT/v1/completions" -d "{\"prompt\": \"a\", \"stream\": true}" \
		--next "http://127.0.0.1:$PORT/v1/completions" -d "{\"prompt\": \"b\"}" >out 2>err &&
	grep -qi "re-using existing connection" err &&
	test "$(grep -c "data: \[DONE\]" out)" = 1 && grep -q "\"completion_tokens\":6" out
'
test_expect_success 'HTTP/1.0 streams without chunked encoding and closes' '
	post $PORT /v1/completions "{\"prompt\": \"a\", \"stream\": true}" -0 -i >out && cat out &&
	! grep -qi "^transfer-encoding" out && grep -qi "^connection: close" out &&
	test "$(content_chunks out)" = 6 && grep -q "^data: \[DONE\]" out
'
test_expect_success 'Expect: 100-continue is answered at once' '
	t=$(post $PORT /v1/completions "{\"prompt\": \"a\"}" -H "Expect: 100-continue" \
		-o out -w "%{time_total}") && echo "$t" && grep -q "\"completion_tokens\":6" out &&
	awk -v t="$t" "BEGIN { exit !(t < 0.8) }"
'
err_shape() { grep -Eq "^\{\"error\":\{\"message\":\"[^\"]+\",\"type\":\"[a-z_]+\",\"param\":null,\"code\":$2\}\}$" "$1"; }
test_expect_success 'malformed JSON body: 400 with an OpenAI error object' '
	code=$(post $PORT /v1/completions "{\"prompt\": " -o e.json -w "%{http_code}") &&
	cat e.json && test "$code" = 400 && err_shape e.json 400 && grep -q "not a JSON object" e.json
'
test_expect_success 'missing prompt, bad messages, bad max_tokens: 400 naming the field' '
	code=$(post $PORT /v1/completions "{\"max_tokens\": 3}" -o e.json -w "%{http_code}") &&
	test "$code" = 400 && grep -q "prompt" e.json &&
	code=$(post $PORT /v1/chat/completions "{\"messages\": []}" -o e.json -w "%{http_code}") &&
	test "$code" = 400 && grep -q "messages" e.json &&
	code=$(post $PORT /v1/completions "{\"prompt\": \"a\", \"max_tokens\": 0}" -o e.json -w "%{http_code}") &&
	test "$code" = 400 && grep -q "max_tokens" e.json
'
test_expect_success 'unknown path 404, wrong method 405' '
	code=$(curl -s -o e.json -w "%{http_code}" "http://127.0.0.1:$PORT/v1/embeddings" -d "{}") &&
	test "$code" = 404 && err_shape e.json 404 &&
	code=$(curl -s -o e.json -w "%{http_code}" "http://127.0.0.1:$PORT/v1/completions") &&
	test "$code" = 405 && err_shape e.json 405
'
test_expect_success 'a body over --max-body gets 413' '
	big=$(head -c 3000 /dev/zero | tr "\0" a) &&
	code=$(post $PORT /v1/completions "{\"prompt\": \"$big\"}" -o e.json -w "%{http_code}") &&
	cat e.json && test "$code" = 413 && err_shape e.json 413 && grep -q "exceeds 2000 bytes" e.json
'
test_done
