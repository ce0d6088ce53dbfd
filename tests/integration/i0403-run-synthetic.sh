#!/usr/bin/env bash
# The "synthetic" dataset format through `llmbench run`: a spec file as dataset.path builds
# prompts of exact token lengths (the exactness itself is checked against the vocabularies by
# tests/unit/test_synthetic.c); a bad spec stops the run before anything is sent (exit 2, the
# message names the spec file and the field); without llama.cpp the error says so.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 0 --itl-ms 1 --output-tokens 8 --log "$TMP/sim.log" || exit 1
# --no-preflight: the sim's log must hold the level's requests only (the counts below)
run() { # sets... (DB: the store, default s.db)
	(cd "$LB_TOP" && "$LLMBENCH" run workloads/synthetic.json --db "$TMP/${DB:-s}.db" --no-progress --no-preflight \
		--set backends.0.base_url=http://127.0.0.1:$PORT/v1 "$@")
}

DB=probe run --set load.requests=1 --set load.levels="[1]" --set load.warmup=0 >"$TMP/probe" 2>&1
if grep -q "not built in" "$TMP/probe"; then
	test_expect_code 2 'without llama.cpp: a clear error, exit 2' '
		run >out 2>&1; rc=$?; cat out; grep -q "synthetic prompts need" out || exit 99; exit $rc
	'
	test_skip "llama.cpp is not built in: the rest needs a tokenizer"
	test_done
	exit
fi

cat >"$TMP/bad.json" <<'X'
{"tokenizer": "llama-spm", "prompt_tokens": {"dist": "gauss", "mean": 10}}
X
test_expect_code 2 'a bad spec is a usage error naming the file and the field' '
	run --set dataset.path="$TMP/bad.json" >out 2>&1; rc=$?; cat out;
	{ grep -q "bad.json" out && grep -q "prompt_tokens.dist: unknown distribution '\''gauss'\''" out; } ||
		exit 99
	sleep 0.3; test "$(grep -c " recv " "$TMP/sim.log")" = 1 || exit 99; exit $rc
'

test_expect_success 'workloads/synthetic.json runs: 512-token prompts, every request ok' '
	run --set load.levels="[200]" --set load.requests=40 --set load.warmup=0 \
		--set load.lag_bound_ms=1000 --set dataset.limit=40 >out 2>&1 && cat out &&
	test "$(sqlite3 "$TMP/s.db" "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = 40
'

test_expect_success 'the prompts sent were the synthetic ones (40 distinct, long, shared prefix)' '
	sleep 0.3 && n=$(grep -c " recv " "$TMP/sim.log") && test "$n" = 41 &&
	awk "\$3 == \"recv\" { print \$4 }" "$TMP/sim.log" | sort -n | head -n 1 >min &&
	echo "shortest prompt by the sim'\''s count: $(cat min) words" && test "$(cat min)" -gt 100
'
test_done
