#!/usr/bin/env bash
# `llmbench sim` faults: each kind, asked for with X-LLMBench-Fault, does what docs/sim.md says
# (HTTP codes and bodies, cut or stalled streams, malformed lines, usage lies); --fault
# KIND:RATE injects at about that rate, seeded; every injected fault is in the send log.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 5 --itl-ms 2 --output-tokens 6 --log "$TMP/sim.log" || exit 1
start_sim PORTR --ttft-ms 0 --itl-ms 0 --output-tokens 2 --fault http_503:0.3 --fault refuse:0.2 \
	--seed 11 || exit 1

S="\"stream\": true, \"stream_options\": {\"include_usage\": true}"
req() { # fault api [curl args...]: streamed when STREAM=1; body in out, headers in hdr;
	# prints "<http code> <curl exit code>"
	local fault=$1 api=$2 body code rc
	shift 2
	if [ "$api" = chat ]; then
		body="{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]"
	else
		body="{\"prompt\": \"hi\""
	fi
	body="$body${STREAM:+, $S}}"
	code=$(curl -sS -N "http://127.0.0.1:$PORT/v1/$([ "$api" = chat ] && echo chat/)completions" \
		-H "X-LLMBench-Request-Id: id-$fault-$api-${STREAM:-0}" -H "X-LLMBench-Fault: $fault" \
		-d "$body" -o out -D hdr -w "%{http_code}" "$@" 2>err)
	rc=$?
	echo "$code $rc"
}
content() { LC_ALL=C grep -c "^data: {.*\"\(text\|content\)\":\".*\"finish_reason\":null" out; }
finish() { grep -c "\"finish_reason\":\"" out; }
done_line() { grep -c "^data: \[DONE\]" out; }

test_expect_success 'refuse: the connection closes without a response' '
	r=$(req refuse completions) && echo "$r" && test "$r" = "000 52" && test ! -s out
'
for code in 400 401 404 429 500 503; do
	test_expect_success "http_$code: status $code with an OpenAI error object" '
		r=$(STREAM=1 req http_'$code' chat) && echo "$r" && cat out && test "$r" = "'$code' 0" &&
		grep -Eq "^\{\"error\":\{\"message\":\"simulated http_'$code'\",\"type\":\"[a-z_]+\",\"param\":null,\"code\":'$code'\}\}$" out &&
		grep -qi "^content-type: application/json" hdr && ! grep -qi "^retry-after" hdr
	'
done
test_expect_success 'http_429_retry: 429 with Retry-After: 1' '
	r=$(req http_429_retry completions) && test "$r" = "429 0" &&
	grep -qi "^retry-after: 1" hdr && grep -q "\"code\":429" out
'
test_expect_success 'http_500_text: 500 with a body that is not JSON' '
	r=$(req http_500_text completions) && test "$r" = "500 0" &&
	grep -qi "^content-type: text/plain" hdr && test "$(cat out)" = "Internal Server Error"
'
test_expect_success 'close_mid: 2 content chunks, then the connection closes (streamed)' '
	r=$(STREAM=1 req close_mid completions) && echo "$r" && test "$r" = "200 18" &&
	test "$(content)" = 2 && test "$(finish)" = 0 && test "$(done_line)" = 0
'
test_expect_success 'close_mid: no body at all (not streamed)' '
	r=$(req close_mid chat) && echo "$r" && test "$r" = "000 52"
'
test_expect_success 'stall_first: headers, then nothing until the client gives up' '
	r=$(STREAM=1 req stall_first chat --max-time 1) && echo "$r" && test "$r" = "200 28" &&
	test "$(content)" = 0 && grep -q "\"delta\":{\"role\":\"assistant\"}" out
'
test_expect_success 'stall_mid: 2 content chunks, then nothing' '
	r=$(STREAM=1 req stall_mid completions --max-time 1) && echo "$r" && test "$r" = "200 28" &&
	test "$(content)" = 2 && test "$(done_line)" = 0
'
test_expect_success 'no_done: every content chunk, then a close without finish or [DONE]' '
	r=$(STREAM=1 req no_done completions) && echo "$r" && test "$r" = "200 18" &&
	test "$(content)" = 6 && test "$(finish)" = 0 && test "$(done_line)" = 0
'
test_expect_success 'error_mid: 2 chunks, an error object as a data line, then [DONE]' '
	r=$(STREAM=1 req error_mid chat) && echo "$r" && cat out && test "$r" = "200 0" &&
	test "$(content)" = 2 && test "$(finish)" = 0 &&
	grep "^data: " out | tail -n 2 | head -n 1 | grep -q "^data: {\"error\":{\"message\":\"simulated error (error_mid)\"" &&
	test "$(grep "^data: " out | tail -n 1)" = "data: [DONE]"
'
test_expect_success 'no_data: a line without data: before chunk 2; the stream goes on' '
	r=$(STREAM=1 req no_data completions) && test "$r" = "200 0" && cat out &&
	test "$(grep -v "^data: \|^$" out | grep -c "^{\"id\":\"cmpl-sim-")" = 1 &&
	test "$(content)" = 6 && test "$(done_line)" = 1 && grep -q "\"completion_tokens\":6" out
'
test_expect_success 'bad_json: a data line that is not JSON; the stream goes on' '
	r=$(STREAM=1 req bad_json chat) && test "$r" = "200 0" &&
	grep -qx "data: {\"id\":\"bad-json\",\"choices\":\[{\"text\":" out &&
	test "$(content)" = 6 && test "$(done_line)" = 1
'
test_expect_success 'bad_json (not streamed): a truncated body' '
	r=$(req bad_json completions) && test "$r" = "200 0" && cat out &&
	grep -q "^{\"id\":\"cmpl-sim-" out && ! grep -q "}$" out
'
test_expect_success 'trunc_utf8: chunk 2 ends in a truncated UTF-8 sequence' '
	r=$(STREAM=1 req trunc_utf8 completions) && test "$r" = "200 0" &&
	test "$(LC_ALL=C grep -c "$(printf "\342\202\"")" out)" = 1 &&
	LC_ALL=C grep "^data: {.*\"finish_reason\":null" out | sed -n 2p | LC_ALL=C grep -q "$(printf "\342\202\"")" &&
	test "$(content)" = 6 && test "$(done_line)" = 1
'
test_expect_success 'long_line: a data line of more than 10 MB; the stream goes on' '
	r=$(STREAM=1 req long_line completions) && test "$r" = "200 0" &&
	awk "length(\$0) > 10000000 { n++ } END { exit n != 1 }" out &&
	test "$(content)" = 6 && test "$(done_line)" = 1
'
test_expect_success 'no_usage: no usage although include_usage asked for it' '
	r=$(STREAM=1 req no_usage completions) && test "$r" = "200 0" &&
	! grep -q usage out && test "$(content)" = 6 && test "$(done_line)" = 1 &&
	r=$(req no_usage chat) && test "$r" = "200 0" && ! grep -q usage out
'
test_expect_success 'wrong_usage: completion_tokens 5 more than sent' '
	r=$(STREAM=1 req wrong_usage chat) && test "$r" = "200 0" && test "$(content)" = 6 &&
	grep -q "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":11,\"total_tokens\":12}" out &&
	r=$(req wrong_usage completions) && grep -q "\"completion_tokens\":11," out
'
test_expect_success 'empty: [DONE] alone when streamed, no choices when not' '
	r=$(STREAM=1 req empty completions) && test "$r" = "200 0" && test "$(content)" = 0 &&
	test "$(done_line)" = 1 && ! grep -q finish_reason out &&
	r=$(req empty chat) && test "$r" = "200 0" && grep -q "\"choices\":\[\]}" out
'
test_expect_success 'an unknown X-LLMBench-Fault is a 400 listing the valid kinds' '
	r=$(req explode completions) && test "$r" = "400 0" && cat out &&
	grep -q "unknown fault '\''explode'\'' in X-LLMBench-Fault (valid: refuse, close_mid," out
'
test_expect_success 'the send log has a fault line per injected fault, with its kind (all 21 kinds)' '
	sleep 0.3 && grep " fault " "$TMP/sim.log" >f && cat f &&
	awk "NF != 5 || \$4 !~ /^[0-9]+\$/ { bad++ } END { exit bad > 0 }" f &&
	grep -q "^[0-9]* id-close_mid-completions-1 fault 2 close_mid$" f &&
	grep -q "^[0-9]* id-stall_first-chat-1 fault 0 stall_first$" f &&
	grep -q "^[0-9]* id-http_429_retry-completions-0 fault 0 http_429_retry$" f &&
	grep -q "^[0-9]* id-stall_mid-completions-1 gone 2$" "$TMP/sim.log" &&
	test "$(cut -d" " -f5 f | sort -u | wc -l)" = 21
'
test_expect_success '--fault KIND:RATE: about that share of requests, the rest served' '
	for i in $(seq 200); do
		curl -s -o /dev/null -w "%{http_code}\n" "http://127.0.0.1:$PORTR/v1/completions" -d "{\"prompt\": \"a\"}"
	done | sort | uniq -c | tee counts &&
	n503=$(awk "\$2 == 503 { print \$1 }" counts) && n000=$(awk "\$2 == \"000\" { print \$1 }" counts) &&
	n200=$(awk "\$2 == 200 { print \$1 }" counts) &&
	test $((n503 + n000 + n200)) = 200 && test "$n503" -ge 35 && test "$n503" -le 85 &&
	test "$n000" -ge 20 && test "$n000" -le 60
'
test_expect_success 'X-LLMBench-Fault: none overrides --fault' '
	for i in $(seq 20); do
		curl -s -o /dev/null -w "%{http_code}\n" -H "X-LLMBench-Fault: none" \
			"http://127.0.0.1:$PORTR/v1/completions" -d "{\"prompt\": \"a\"}"
	done | sort -u >codes && test "$(cat codes)" = 200
'
test_done
