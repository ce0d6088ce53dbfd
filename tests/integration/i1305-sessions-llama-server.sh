#!/usr/bin/env bash
# Multi-turn sessions against the real llama-server (--metrics, 2 slots) serving a generated
# model, with its prompt cache on and off (--no-cache-prompt): each turn resends the history, so
# with the cache a later turn's prompt is mostly cached and its first token comes sooner than
# with the cache off, and the server's own figures (its per-request prompt time, the scraped
# cached/prompt token counters) say the same.
. "$(dirname "$0")/../lib.sh"

SERVER=$LLAMA_SERVER
test_expect_success 'llama-server is built' 'test -x "$SERVER"'
test -x "$SERVER" || { test_done; exit; }
test_expect_success 'make a tiny llama model' '
	"$LLMBENCH" model make --arch llama --out "$TMP/tiny.gguf" --seed 7 --ctx 8192 >/dev/null
'
# One thread each: on a loaded machine the threads of a batch wait for each other at every
# step, and that wait, not the tokens computed, would set the prompt time.
start_llama_server ON "$TMP/tiny.gguf" -c 8192 -np 2 --metrics -t 1 -tb 1 >"$TMP/up" 2>&1 &&
	start_llama_server OFF "$TMP/tiny.gguf" -c 8192 -np 2 --metrics -t 1 -tb 1 \
		--no-cache-prompt >>"$TMP/up" 2>&1
up=$?
test_expect_success 'both llama-servers are up within 60 s' 'cat "$TMP/up"; test '"$up"' = 0'
[ "$up" = 0 ] || { test_done; exit; }

# 2 users (one per slot) play 4 conversations of 4 turns: a system prompt of 1200 words, turns
# of 30 words, replies of 16 tokens. A later turn's prompt is mostly history: with the cache on
# the server computes only the last reply and the new turn (under 100 tokens), off all of it
# (over 2,500), a ratio this tiny model's prompt time shows through the machine's noise.
printf '{"sessions": 4, "turns": 4, "user_tokens": 30, "system_tokens": 1200, "output_tokens": 16,
	"seed": 5}\n' >"$TMP/gen.json"
cat >"$TMP/w.json" <<EOF2
{"name": "sessions-ls",
 "backends": [{"name": "ls", "type": "openai", "base_url": "http://127.0.0.1:$ON/v1",
               "api": "completions", "timeout_ms": 60000}],
 "dataset": {"path": "$TMP/gen.json", "format": "sessions", "shuffle": false},
 "generation": {"max_tokens": 16, "temperature": 0},
 "load": {"mode": "sessions", "levels": [2]},
 "server_metrics": {"interval_ms": 200}}
EOF2
q() { sqlite3 "$TMP/$1.db" "$2"; }
sum() { q "$1" "SELECT value FROM summaries WHERE metric = '$2' AND level_id > 0"; }
later() { # db column: the values of turns 3 and 4 (their prompts are mostly history)
	q "$1" "SELECT r.$2 FROM session_turns st JOIN requests r ON r.run_id = st.run_id
		AND r.req_id = st.req_id WHERE st.turn >= 3 AND r.status = 'ok' AND r.$2 >= 0"
}

# both runs at once, so that whatever else loads this machine loads both alike
test_expect_success 'the same sessions with the prompt cache on and off: 16 turns ok each' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/on.db" --no-progress --no-preflight >on.out 2>&1 &
	p=$!
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/off.db" --no-progress --no-preflight \
		--set backends.0.base_url=http://127.0.0.1:$OFF/v1 >off.out 2>&1; rc=$?
	wait $p; rc1=$?
	cat on.out off.out && test $rc = 0 && test $rc1 = 0 &&
	test "$(q on "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = 16 &&
	test "$(q off "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = 16
'
# Which slot a turn lands in decides whether its history is cached, and this machine may be
# busy: so count requests against the other run's median, not means. With the cache on most
# later turns are quick, and the server's own prompt time says why.
med() { sort -g | awk "{ v[NR] = \$1 } END { print v[int((NR + 1) / 2)] }"; }
test_expect_success 'later turns: first tokens sooner with the cache on than with it off' '
	m=$(later off ttft_ms | med) &&
	quick=$(later on ttft_ms | awk -v f=$m "\$1 < f / 2" | wc -l) &&
	mp=$(later off server_prompt_ms | med) &&
	cached=$(later on server_prompt_ms | awk -v f=$mp "\$1 < f / 2" | wc -l) &&
	echo "cache off: later-turn TTFT median $m ms, server prompt median $mp ms;" \
		"cache on: $quick of 8 later turns under half that TTFT, $cached under half that prompt time" &&
	echo "TTFT p50 by turn on: $(for k in 1 2 3 4; do printf "%s " "$(sum on turn${k}_ttft_p50_ms)"; done)" &&
	echo "TTFT p50 by turn off: $(for k in 1 2 3 4; do printf "%s " "$(sum off turn${k}_ttft_p50_ms)"; done)" &&
	test "$quick" -ge 5 && test "$cached" -ge 5
'
test_expect_success 'the scraped cache figures agree: hit rate high with the cache on, about 0 off' '
	h1=$(sum on server_prefix_cache_hit_rate) && h0=$(sum off server_prefix_cache_hit_rate) &&
	echo "hit rate on $h1 off $h0" &&
	awk -v a=$h1 -v b=$h0 "BEGIN { exit !(a > 0.3 && b < 0.05) }" &&
	test "$(q on "SELECT provenance FROM summaries WHERE metric = '\''server_prefix_cache_hit_rate'\''")" = llama-server
'
test_done
