#!/usr/bin/env bash
# The OpenAI backend against a real llama-server (built from the pinned llama.cpp source) on
# loopback, serving a generated model: completions and chat, streamed and not, at concurrency 1
# and 4. Every request is ok with exact counts from `usage`; the measured times agree with the
# `timings` the server reports in its last chunk (prompt_ms: from the start of prompt processing
# to the first token; predicted_ms: from the first token to the last):
#   - per request, TTFT >= prompt_ms and E2E >= prompt_ms + predicted_ms (the server's intervals
#     lie inside the measured ones, on the same CLOCK_MONOTONIC);
#   - p50 of TTFT - prompt_ms is a few ms (HTTP, tokenizing, the slot's wait);
#   - p50 of |(E2E - TTFT) - predicted_ms| is under 2 ms.
# A chat stream's role-only first chunk is not a token chunk; `llmbench export` has every row.
. "$(dirname "$0")/../lib.sh"

SERVER=$LLAMA_SERVER
MAXTOK=32
NREQ=16 # per level and backend, plus 1 warm-up

q() { sqlite3 "$TMP/run.db" "$1"; }
# p50 of the numbers on stdin (lower median), empty when none
p50() { sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.3f\n", v[int((NR + 1) / 2)] }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 <= b + 0) }'; }

test_expect_success 'llama-server is built (scripts/build-llama-server.sh)' '
	bash "$LB_TOP/scripts/build-llama-server.sh" && test -x "$SERVER"
'
test -x "$SERVER" || { test_done; exit; }

test_expect_success 'make a tiny llama model' '
	"$LLMBENCH" model make --arch llama --out "$TMP/tiny.gguf" --seed 7
'

start_llama_server PORT "$TMP/tiny.gguf" -c 2048 -np 4 >"$TMP/up" 2>&1
up=$?
test_expect_success 'llama-server answers /health with 200 (model loaded) within 60 s' 'cat "$TMP/up"; test '"$up"' = 0'
[ "$up" = 0 ] || { test_done; exit; }

cat >"$TMP/w.json" <<EOF
{
  "name": "llama-server-openai",
  "backends": [
    {"name": "comp", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
     "api": "completions", "stream": true, "timeout_ms": 60000},
    {"name": "chat", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
     "api": "chat", "stream": true, "timeout_ms": 60000},
    {"name": "plain", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
     "api": "chat", "stream": false, "timeout_ms": 60000}
  ],
  "dataset": {"path": "$LB_TOP/datasets/prompts/llm-questions.txt", "format": "lines",
              "limit": $NREQ},
  "generation": {"max_tokens": $MAXTOK, "temperature": 0, "seed": 1, "ignore_eos": true},
  "load": {"mode": "concurrency", "levels": [1, 4], "requests": $NREQ, "warmup": 1}
}
EOF
NTOT=$((3 * 2 * (NREQ + 1)))

test_expect_success "run: $NTOT requests, all ok" '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/run.db" --name ls --no-progress --keep-text \
		>out 2>err; rc=$?
	cat out err; [ $rc -eq 0 ] &&
	[ "$(q "SELECT COUNT(*) FROM requests")" = '$NTOT' ] &&
	[ "$(q "SELECT COUNT(*) FROM requests WHERE status = '\''ok'\''")" = '$NTOT' ]
'

test_expect_success 'output tokens = max_tokens and prompt tokens > 0, from usage' '
	q "SELECT b.name, r.output_tokens, r.output_tokens_source, r.prompt_tokens,
		r.prompt_tokens_source, r.finish_reason FROM requests r JOIN backends b
		ON b.id = r.backend_id" | sort | uniq -c | head &&
	[ "$(q "SELECT COUNT(*) FROM requests WHERE output_tokens = '$MAXTOK'
		AND output_tokens_source = '\''usage'\'' AND prompt_tokens > 0
		AND prompt_tokens_source = '\''usage'\'' AND finish_reason = '\''length'\''")" = '$NTOT' ]
'

test_expect_success 'every request carries the server timings' '
	[ "$(q "SELECT COUNT(*) FROM requests WHERE server_prompt_ms > 0
		AND server_predicted_ms > 0")" = '$NTOT' ]
'

test_expect_success 'streamed: TTFT and TPOT measured; not streamed: TTFT unavailable' '
	[ "$(q "SELECT COUNT(*) FROM requests r JOIN backends b ON b.id = r.backend_id
		WHERE b.name IN ('\''comp'\'', '\''chat'\'') AND ttft_ms > 0 AND tpot_ms > 0
		AND n_chunks > 0 AND t_send_ns < t_first_ns AND t_first_ns < t_end_ns")" = $((NTOT * 2 / 3)) ] &&
	[ "$(q "SELECT COUNT(*) FROM requests r JOIN backends b ON b.id = r.backend_id
		WHERE b.name = '\''plain'\'' AND ttft_ms IS NULL AND tpot_ms IS NULL
		AND e2e_ms > 0")" = $((NTOT / 3)) ]
'

test_expect_success 'chat: the role-only chunk is not a token chunk' '
	# llama-server sends {"delta":{"role":"assistant","content":null}} before the first token;
	# counted, it would make n_chunks max_tokens + 1 (pieces held back for UTF-8 may merge,
	# so a few chunks fewer than tokens is fine)
	q "SELECT n_chunks, COUNT(*) FROM requests r JOIN backends b ON b.id = r.backend_id
		WHERE b.name = '\''chat'\'' GROUP BY n_chunks" &&
	[ "$(q "SELECT COUNT(*) FROM requests r JOIN backends b ON b.id = r.backend_id
		WHERE b.name = '\''chat'\'' AND n_chunks <= '$MAXTOK'
		AND n_chunks >= '$MAXTOK' - 4")" = $((NTOT / 3)) ] &&
	[ "$(q "SELECT COUNT(*) FROM requests r JOIN backends b ON b.id = r.backend_id
		WHERE b.name = '\''chat'\'' AND output_text LIKE '\''null%'\''")" = 0 ]
'

test_expect_success 'per request: the server intervals lie inside the measured ones' '
	q "SELECT COUNT(*) FROM requests WHERE ttft_ms IS NOT NULL
		AND ttft_ms < server_prompt_ms - 0.01" >bad1 &&
	q "SELECT COUNT(*) FROM requests
		WHERE e2e_ms < server_prompt_ms + server_predicted_ms - 0.01" >bad2 &&
	cat bad1 bad2 && [ "$(cat bad1)" = 0 ] && [ "$(cat bad2)" = 0 ]
'

# Agreement figures, per backend and level (measured requests only, not the warm-up)
diffs() { # backend level expr
	q "SELECT $3 FROM requests r JOIN backends b ON b.id = r.backend_id JOIN levels l
		ON l.id = r.level_id WHERE b.name = '$1' AND l.value = $2 AND r.warmup = 0"
}
# the figures themselves, for the log (p50 over the measured requests, ms)
for c in 1 4; do
	for b in comp chat; do
		echo "# $b c=$c: TTFT - prompt_ms $(diffs $b $c "ttft_ms - server_prompt_ms" | p50)," \
			"(E2E - TTFT) - predicted_ms $(diffs $b $c \
			"e2e_ms - ttft_ms - server_predicted_ms" | p50)"
	done
	echo "# plain c=$c: E2E - (prompt_ms + predicted_ms) $(diffs plain $c \
		"e2e_ms - server_prompt_ms - server_predicted_ms" | p50)"
done 2>/dev/null
for b in comp chat; do
	for c in 1 4; do
		# c=1: only HTTP, tokenizing and sending; c=4: also waiting for the other
		# slots' decode step, and 4 prompts tokenized one after the other
		lim=10
		[ $c = 4 ] && lim=40
		test_expect_success "$b c=$c: p50 of TTFT - prompt_ms within [0, $lim] ms" '
			v=$(diffs '$b' '$c' "ttft_ms - server_prompt_ms" | p50) &&
			echo "ttft - prompt_ms p50 $v ms" && le 0 "$v" && le "$v" '$lim'
		'
		test_expect_success "$b c=$c: p50 of |(E2E - TTFT) - predicted_ms| under 2 ms" '
			v=$(diffs '$b' '$c' "abs(e2e_ms - ttft_ms - server_predicted_ms)" | p50) &&
			echo "|decode - predicted_ms| p50 $v ms" && le "$v" 2 &&
			n=$(diffs '$b' '$c' "abs(e2e_ms - ttft_ms - server_predicted_ms) >
				max(15, 0.1 * server_predicted_ms)" | awk "\$1 == 1 { n++ } END { print n + 0 }") &&
			echo "outside max(15 ms, 10%): $n of '$NREQ'" && [ "$n" -le 2 ]
		'
	done
done
for c in 1 4; do
	lim=15
	[ $c = 4 ] && lim=40
	test_expect_success "plain c=$c: p50 of E2E - (prompt_ms + predicted_ms) within [0, $lim] ms" '
		v=$(diffs plain '$c' "e2e_ms - server_prompt_ms - server_predicted_ms" | p50) &&
		echo "e2e - server p50 $v ms" && le 0 "$v" && le "$v" '$lim'
	'
done

test_expect_success 'export has every request, with the stored times' '
	"$LLMBENCH" export --db "$TMP/run.db" --run ls --format csv >req.csv &&
	[ $(($(wc -l <req.csv) - 1)) -eq '$NTOT' ] &&
	head -n 1 req.csv | tr , "\n" >cols &&
	for c in request_id backend level status ttft_ms tpot_ms e2e_ms prompt_tokens \
		output_tokens output_tokens_source; do
		grep -qx "$c" cols || { echo "no column $c"; exit 1; }
	done &&
	awk -F, "NR == 1 { for (i = 1; i <= NF; i++) col[\$i] = i; next }
		{ print \$col[\"request_id\"], \$col[\"backend\"], \$col[\"status\"],
			\$col[\"output_tokens\"], \$col[\"e2e_ms\"] }" req.csv | sort >exported &&
	q "SELECT r.req_id, b.name, r.status, r.output_tokens, r.e2e_ms FROM requests r
		JOIN backends b ON b.id = r.backend_id" | tr "|" " " | sort >stored &&
	awk "NR == FNR { e[\$1 \" \" \$2] = \$0; next }
		{ split(e[\$1 \" \" \$2], x, \" \"); d = x[5] - \$5; if (d < 0) d = -d
		  if (x[3] != \$3 || x[4] != \$4 || d > 1e-3) { print \"differs: \" \$0; bad++ } }
		END { exit bad > 0 }" exported stored &&
	"$LLMBENCH" export --db "$TMP/run.db" --run ls --format jsonl >req.jsonl &&
	[ "$(wc -l <req.jsonl)" -eq '$NTOT' ]
'

test_expect_success 'the server is still up' 'kill -0 $PORT_PID'

test_done
