#!/usr/bin/env bash
# `llmbench sim` options: --help; bad options exit 2 naming the option and what is expected;
# --answers errors name file:line; --port-file and the listening line; --duration, SIGTERM and
# SIGINT stop with exit 0, a summary line and a flushed send log; a port in use exits 3.
. "$(dirname "$0")/../lib.sh"

test_expect_success '--help prints the usage to stdout' '
	"$LLMBENCH" sim --help >out 2>err && grep -q "^usage: llmbench sim" out &&
	grep -q -- "--fault KIND" out && grep -q "wrong_usage" out && test ! -s err
'

bad() { # expected-stderr-substring sim-args...: exit 2 with that message
	local want=$1 rc
	shift
	"$LLMBENCH" sim --duration 0.2 "$@" >out 2>err
	rc=$?
	cat err
	test $rc -eq 2 && grep -qF -- "$want" err
}

test_expect_success 'unknown option' 'bad "unknown option '\''--bogus'\''" --bogus'
test_expect_success 'option without its value' 'bad "needs a value" --ttft-ms'
test_expect_success 'non-numeric --ttft-ms' 'bad "--ttft-ms: '\''abc'\'' is not a number >= 0" --ttft-ms abc'
test_expect_success 'negative --itl-ms' 'bad "--itl-ms: '\''-1'\''" --itl-ms -1'
test_expect_success 'reversed --output-tokens range' 'bad "--output-tokens: '\''9-2'\'' is not N or N-M" --output-tokens 9-2'
test_expect_success '--tokens-per-chunk 0' 'bad "--tokens-per-chunk: '\''0'\'' is not a whole number >= 1" --tokens-per-chunk 0'
test_expect_success '--slowdown 0' 'bad "--slowdown: '\''0'\'' is not a number > 0" --slowdown 0'
test_expect_success '--capacity 0' 'bad "--capacity" --capacity 0'
test_expect_success '--seed -3' 'bad "--seed" --seed -3'
test_expect_success '--listen without a port' 'bad "--listen: '\''localhost'\'' is not HOST:PORT" --listen localhost'
test_expect_success 'stray argument' 'bad "unexpected argument '\''extra'\''" extra'
test_expect_success 'unknown fault kind lists the valid ones' '
	bad "unknown fault kind '\''explode'\'' in --fault (valid: refuse, close_mid," --fault explode &&
	grep -q "wrong_usage, empty)" err
'
test_expect_success 'fault rate outside 0..1' 'bad "rate '\''1.5'\'' must be a number from 0 to 1" --fault close_mid:1.5'
test_expect_success 'fault rates adding up to more than 1' '
	bad "add up to 1.2" --fault close_mid:0.6 --fault refuse:0.6
'
test_expect_success 'missing answers file' 'bad "nope.jsonl" --answers nope.jsonl'
test_expect_success 'a bad answers line names file:line' '
	printf "%s\n" "{\"match\": \"a\", \"answer\": \"b\"}" "" "{\"match\": \"a\"}" >ans.jsonl &&
	bad "ans.jsonl:3: expected a JSON object" --answers ans.jsonl &&
	printf "%s\n" "not json" >ans2.jsonl && bad "ans2.jsonl:1:" --answers ans2.jsonl
'
test_expect_success 'unwritable send log' 'bad "cannot open '\''/nonexistent/dir/x.log'\''" --log /nonexistent/dir/x.log'

test_expect_success '--port-file, the listening line, --duration exits 0 with a summary' '
	"$LLMBENCH" sim --listen 127.0.0.1:0 --port-file port --duration 1.5 --ttft-ms 1 --itl-ms 1 \
		--output-tokens 3 2>err &
	pid=$! &&
	for i in $(seq 50); do test -s port && break; sleep 0.1; done &&
	p=$(cat port) && test "$p" -gt 0 &&
	curl -sf "http://127.0.0.1:$p/v1/completions" -d "{\"prompt\": \"hi\"}" >body &&
	grep -q "\"completion_tokens\":3" body &&
	wait $pid && cat err &&
	grep -q "^llmbench sim: listening on 127.0.0.1:$p$" err &&
	grep -q "^llmbench sim: 1 requests served (0 streamed, 1 completed), 0 chunks (3 tokens) sent, 0 faults injected" err
'

for sig in TERM INT; do
	test_expect_success "SIG$sig stops with exit 0, a summary and the whole send log" '
		rm -f port
		"$LLMBENCH" sim --port-file port --log sim.log --ttft-ms 1 --itl-ms 1 --output-tokens 2 \
			2>err &
		pid=$! &&
		for i in $(seq 50); do test -s port && break; sleep 0.1; done &&
		curl -sf "http://127.0.0.1:$(cat port)/v1/completions" -d "{\"prompt\": \"hi\", \"stream\": true}" >/dev/null &&
		kill -'$sig' $pid && wait $pid && cat err sim.log &&
		grep -q "^llmbench sim: 1 requests served (1 streamed, 1 completed), 2 chunks" err &&
		test "$(cut -d" " -f3 sim.log | tr "\n" " ")" = "recv first chunk done "
	'
done

start_sim P1 || exit 1
test_expect_code 3 'a port in use exits 3' '
	"$LLMBENCH" sim --listen "127.0.0.1:$P1" --duration 1 2>err; rc=$?; cat err;
	grep -q "cannot listen on 127.0.0.1:$P1" err && exit $rc
'
test_expect_code 2 'a --port-file that cannot be written: the path given, not a temporary one' '
	"$LLMBENCH" sim --listen 127.0.0.1:0 --port-file nodir/port --duration 1 2>err; rc=$?; cat err
	grep -q "^llmbench: error: --port-file: cannot write .nodir/port.: No such file" err && exit $rc
'
test_done
