#!/usr/bin/env bash
# `llmbench bench` from flags alone against the simulator: vLLM's summary block, the run stored
# like any other, --dump-workload, and the --save-result JSON whose key set is exactly the list
# in docs/cli/bench.md (both ways), with vLLM's units (ttfts in s, request_rate "inf"); export
# --format vllm of a stored run: the same keys, its date the run's start.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 40 --itl-ms 5 --output-tokens 64 || exit 1
start_sim DEAD --fault http_500 || exit 1
B=( "$LLMBENCH" bench --base-url "http://127.0.0.1:$PORT" --model sim-model --num-prompts 12
    --max-concurrency 3 --random-input-len 32 --random-output-len 8 --no-progress )

test_expect_success 'bench prints vLLM'"'"'s summary block and stores the run' '
	"${B[@]}" --save-result --result-dir res --result-filename r.json \
		--percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,99 >out 2>err
	rc=$?; cat out err; [ $rc -eq 0 ] &&
	grep -q "^============ Serving Benchmark Result ============$" out &&
	grep -Eq "^Successful requests: +12 *$" out &&
	grep -Eq "^Maximum request concurrency: +3 *$" out &&
	grep -Eq "^Total generated tokens: +96 *$" out &&
	grep -q "^---------------Time to First Token----------------$" out &&
	grep -Eq "^P50 TTFT \(ms\): +[0-9.]+ *$" out && grep -q "^----------------End-to-end Latency----------------$" out &&
	grep -q "^==================================================$" out &&
	test ! -s err && "$LLMBENCH" runs --format csv | grep -q ",done,.*,sim-model,12,0,"
'
test_expect_success 'TTFT agrees with the simulator (40 ms, generous bound)' '
	awk "/^Median TTFT/ { exit !(\$4 >= 39 && \$4 < 400) }" out
'
test_expect_success 'the result JSON: vLLM units and values' '
	python3 - res/r.json <<PY
import json, sys
d = json.load(open(sys.argv[1]))
assert d["request_rate"] == "inf", d["request_rate"]
assert d["max_concurrency"] == 3 and d["num_prompts"] == 12 and d["completed"] == 12
assert d["total_output_tokens"] == 96 and d["output_lens"] == [8] * 12, d["output_lens"]
assert d["total_input_tokens"] == sum(d["input_lens"]) > 0
assert all(0.039 <= t < 0.4 for t in d["ttfts"]), d["ttfts"]
assert len(d["itls"]) == 12 and all(len(x) == 7 for x in d["itls"])
assert 39 <= d["median_ttft_ms"] < 400 and d["p50_ttft_ms"] == d["median_ttft_ms"]
assert d["errors"] == [""] * 12 and d["request_goodput"] is None
assert abs(d["request_throughput"] - 12 / d["duration"]) < 1e-6
PY
'
test_expect_success 'the result JSON has exactly the keys docs/cli/bench.md lists' '
	python3 - res/r.json "$LB_TOP/docs/cli/bench.md" <<PY
import json, re, sys
d = json.load(open(sys.argv[1]))
doc = open(sys.argv[2]).read()
block = doc.split("<!-- vllm-keys -->")[1].split("<!-- /vllm-keys -->")[0]
listed = set(re.findall(r"\`([a-z0-9_]+)\`", block))
listed |= {"p50_" + k[4:] for k in listed if k.startswith("p99_")}  # --metric-percentiles 50,99
own = {k for k in d if k.startswith("llmbench_")}
got = set(d) - own
assert got == listed, ("missing in the file", listed - got, "not in the docs", got - listed)
PY
'
test_expect_success 'vLLM default file name: <backend>-<rate>qps-concurrency<N>-<model>-<date>.json' '
	"${B[@]}" --save-result --request-rate 50 >out2 2>&1 && cat out2 &&
	ls openai-50qps-concurrency3-sim-model-*.json
'
test_expect_success 'export --format vllm writes the same keys for a stored run' '
	"$LLMBENCH" export --run "$(sed -n "s/^run .\(bench-[^'"'"']*\).*/\1/p" out2)" --format vllm >v.jsonl &&
	python3 -c "
import json
a = json.loads(open(\"v.jsonl\").readline()); b = json.load(open(\"res/r.json\"))
assert set(a) == set(b) - {\"p50_ttft_ms\", \"p50_tpot_ms\", \"p50_itl_ms\", \"p50_e2el_ms\"}, set(a) ^ set(b)
assert a[\"request_rate\"] == 50 and a[\"burstiness\"] == 1 and a[\"backend\"] == \"openai\"
import re
assert re.fullmatch(r\"20[0-9]{6}-[0-9]{6}\", a[\"date\"]), a[\"date\"]  # the run start, as vLLM writes it
assert abs(int(a[\"date\"][9:11]) * 60 + int(a[\"date\"][11:13]) - int(b[\"date\"][9:11]) * 60 - int(b[\"date\"][11:13])) % 1380 <= 2, (a[\"date\"], b[\"date\"])"
'
test_expect_success '--dump-workload prints the workload, runnable with llmbench run' '
	"${B[@]}" --request-rate 20 --burstiness 4 --goodput "ttft:500 e2el:3000" --dump-workload >w.json &&
	python3 -c "
import json; w = json.load(open(\"w.json\"))
assert w[\"load\"][\"mode\"] == \"rate\" and w[\"load\"][\"levels\"] == [20]
assert w[\"load\"][\"arrival\"] == \"gamma\" and abs(w[\"load\"][\"burstiness\"] - 0.5) < 1e-9
assert w[\"load\"][\"max_inflight\"] == 3 and w[\"slo\"] == {\"ttft_ms\": 500, \"e2e_ms\": 3000}
assert \"rx_timestamps\" not in w[\"backends\"][0]" &&
	"$LLMBENCH" run w.json --no-progress --db w.db >/dev/null 2>&1 &&
	"${B[@]}" --rx-timestamps harness --dump-workload >h.json &&
	python3 -c "
import json; w = json.load(open(\"h.json\"))
assert w[\"backends\"][0][\"rx_timestamps\"] == \"harness\", w[\"backends\"][0]"
'
test_expect_code 2 'a bad --rx-timestamps names the two values' '
	"${B[@]}" --rx-timestamps nic --dump-workload 2>err; rc=$?; cat err; test $(wc -l <err) -eq 1 &&
	grep -q "kernel or harness, not .nic." err && exit $rc
'
test_expect_success '--http-client goes into the workload; libcurl and native both run it' '
	"${B[@]}" --dump-workload >d.json &&
	python3 -c "
import json; w = json.load(open(\"d.json\"))
assert \"http_client\" not in w[\"backends\"][0]" &&
	for c in libcurl native; do
		"${B[@]}" --http-client $c --dump-workload >c.json &&
		python3 -c "
import json, sys; w = json.load(open(\"c.json\"))
assert w[\"backends\"][0][\"http_client\"] == sys.argv[1], w[\"backends\"][0]" $c &&
		"$LLMBENCH" run c.json --no-progress --db c-$c.db >/dev/null 2>&1 &&
		test "$(sqlite3 c-$c.db "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" -gt 0 ||
		return 1
	done
'
test_expect_code 2 'a bad --http-client names the three values' '
	"${B[@]}" --http-client wget --dump-workload 2>err; rc=$?; cat err; test $(wc -l <err) -eq 1 &&
	grep -q "auto, native or libcurl, not .wget." err && exit $rc
'
test_expect_code 2 'http_client native with an https base_url: one line saying what to use' '
	"$LLMBENCH" bench --base-url https://127.0.0.1:1 --model m --num-prompts 2 \
		--http-client native --db https.db 2>err; rc=$?; cat err &&
	grep -q "plain http:// only" err && grep -q "http_client .libcurl. for https" err &&
	test "$(grep -c error err)" = 1 && exit $rc
'
# A server on the IPv6 loopback alone: http://[::1]:P, and http://localhost:P, which libcurl
# takes as the loopback of both families whatever /etc/hosts says; the native client too.
"$LLMBENCH" sim --listen "[::1]:0" --port-file "$TMP/v6.port" --ttft-ms 1 --itl-ms 1 \
	--output-tokens 4 >"$TMP/v6.log" 2>&1 &
v6_pid=$!
cleanup_add "kill $v6_pid; wait $v6_pid"
for _ in $(seq 50); do [ -s "$TMP/v6.port" ] && break; kill -0 $v6_pid 2>/dev/null || break; sleep 0.1; done
if [ -s "$TMP/v6.port" ]; then
	test_expect_success 'a server on [::1] alone: [::1] and localhost, native and libcurl' '
		p=$(cat "$TMP/v6.port") &&
		for c in native libcurl; do
			for h in "[::1]" localhost; do
				"$LLMBENCH" bench --base-url "http://$h:$p/v1" --model m --num-prompts 3 \
					--http-client $c --no-progress --db "v6-$c.db" >out 2>&1 ||
					{ cat out; return 1; }
			done
		done &&
		test "$(sqlite3 v6-native.db "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = 6 &&
		test "$(sqlite3 v6-libcurl.db "SELECT count(*) FROM requests WHERE status = '\''ok'\''")" = 6
	'
else
	test_skip "no IPv6 loopback here: the sim cannot listen on [::1] ($(head -c 200 "$TMP/v6.log"))"
fi
test_expect_code 2 'a mistyped bench option: did you mean, one line' '
	"$LLMBENCH" bench --model m --num-promts 3 2>err; rc=$?; cat err; test $(wc -l <err) -eq 1 &&
	grep -q "did you mean .--num-prompts.?" err && exit $rc
'
test_expect_code 2 'bad --goodput names the metric' '
	"${B[@]}" --goodput "ttfx:5" 2>err; rc=$?; cat err; grep -q "unknown metric .ttfx." err && exit $rc
'
test_expect_code 2 'a dataset that does not parse: one error, and no new store left behind' '
	printf "{\"prompt\": \"hi\"\n" >"$TMP/bad.jsonl" &&
	"$LLMBENCH" bench --base-url http://127.0.0.1:9 --model m --num-prompts 2 --db "$TMP/bad.db" \
		--dataset-name jsonl --dataset-path "$TMP/bad.jsonl" 2>err; rc=$?
	cat err && grep -q "bad.jsonl.:1: malformed JSON" err && ! ls "$TMP"/bad.db* 2>/dev/null &&
	exit $rc
'
# Flags that disagree, or that would be ignored, are refused; an out-of-range value names the
# flag the user typed (not the workload field it became).
bench_err() { # expected message (grep -E), bench arguments...
	local want=$1
	shift
	"$LLMBENCH" bench --model m --num-prompts 2 --db "$TMP/none.db" "$@" --dump-workload \
		>/dev/null 2>err
	local rc=$?
	cat err
	test $rc = 2 && test "$(wc -l <err)" = 1 && grep -Eq -- "$want" err && ! ls "$TMP"/none.db* 2>/dev/null
}
test_expect_success 'bad or contradicting flags: one line naming the flag, exit 2' '
	bench_err "--port needs a port from 1 to 65535, got .99999." --port 99999 &&
	bench_err "--endpoint /v1/embeddings: llmbench benchmarks /v1/completions or" \
		--endpoint /v1/embeddings &&
	bench_err "--api completions and --endpoint /v1/chat/completions disagree" \
		--api completions --endpoint /v1/chat/completions &&
	bench_err "--backend openai-chat and --endpoint /v1/completions disagree" \
		--backend openai-chat --endpoint /v1/completions &&
	bench_err "--dataset-path x.json: the random dataset makes its own prompts" \
		--dataset-path x.json &&
	bench_err "^llmbench: error: --top-p: expected a number > 0 and <= 1, got 7" --top-p 7 &&
	bench_err "^llmbench: error: --base-url: expected a URL starting with http" \
		--base-url localhost:8000 &&
	bench_err "--random-range-ratio must be in \[0, 1\), got 2" --random-range-ratio 2 &&
	bench_err "--burstiness must be > 0, got -1" --request-rate 3 --burstiness -1 &&
	bench_err "--goodput: .ttft. needs a number of ms > 0, got .abc." --goodput ttft:abc &&
	bench_err "unknown dataset .sonnet. \(valid: .*convert them to JSONL" --dataset-name sonnet
'
test_expect_success '--request-rate INF and Infinity are inf, as vLLM reads them' '
	for r in INF Infinity inf; do
		"${B[@]}" --request-rate $r --dump-workload >w.json &&
		grep -q "\"concurrency\"" w.json || return 1
	done
'
test_expect_success 'a workload run of flags that only dump: the value names the flag' '
	"$LLMBENCH" bench --model m --port 1 --num-prompts 3 --random-input-len 100000000 \
		--db "$TMP/ril.db" 2>err; rc=$?; cat err; test $rc = 2 &&
	grep -q "^llmbench: error: --random-input-len: expected a number >= 1" err
'
test_expect_success '--burstiness with --request-rate inf: a warning, the run goes on' '
	"${B[@]}" --burstiness 4 --dump-workload >/dev/null 2>err; rc=$?; cat err; test $rc = 0 &&
	grep -q "warning: --burstiness 4 has no effect with --request-rate inf" err
'
test_expect_success 'the dumped workload runs from another folder; --no-preflight; chat export' '
	mkdir -p sub other &&
	"${B[@]}" --api chat --db sub/d.db --dump-workload >other/w.json &&
	(cd other && "$LLMBENCH" run w.json --no-progress --db ../sub/d2.db >/dev/null 2>&1) &&
	"${B[@]}" --api chat --no-preflight --db sub/d.db >out 2>&1 &&
	"$LLMBENCH" export --db sub/d.db --run "$(sqlite3 sub/d.db "SELECT name FROM runs")" \
		--format vllm >v.jsonl &&
	python3 -c "
import json
a = json.loads(open(\"v.jsonl\").readline())
assert a[\"backend\"] == a[\"endpoint_type\"] == \"openai-chat\", a[\"backend\"]
assert a[\"request_rate\"] == \"inf\" and a[\"burstiness\"] is None and a[\"completed\"] == 12"
'
test_expect_success 'the workload name says what makes runs comparable; gate refuses the others' '
	"${B[@]}" --db g.db --name g1 >/dev/null 2>&1 &&
	"${B[@]}" --db g.db --name g2 >/dev/null 2>&1 &&
	"${B[@]}" --db g.db --name g3 --random-output-len 16 >/dev/null 2>&1 &&
	test "$(sqlite3 g.db "SELECT group_concat(workload_name, \" \") FROM runs")" = \
		"bench-completions-random-in32-out8 bench-completions-random-in32-out8 bench-completions-random-in32-out16" &&
	"$LLMBENCH" gate --db g.db --baseline g1 --candidate g2 --all >out 2>&1; rc=$?; cat out;
	test $rc -le 1 && ! grep -q "j_per_output_token" out &&
	"$LLMBENCH" compare --db g.db g1 g2 >cmp.md && ! grep -qi "J per output token" cmp.md &&
	"$LLMBENCH" gate --db g.db --baseline g1 --candidate g3 2>err; rc=$?; cat err; test $rc = 2 &&
	grep -q "of workload .bench-completions-random-in32-out8. and candidate run .g3. of workload" err &&
	"$LLMBENCH" gate --db g.db --history 5 --candidate g3 2>err; rc=$?; cat err; test $rc = 2 &&
	grep -q "no earlier done run of workload .bench-completions-random-in32-out16." err
'
test_expect_success 'more requests than dataset items: the run says items are sent again' '
	cat >sg.json <<-EOF &&
	[{"id": "a", "conversations": [{"from": "human", "value": "one two three four"},
	  {"from": "gpt", "value": "five six"}]},
	 {"id": "b", "conversations": [{"from": "human", "value": "seven eight nine ten"},
	  {"from": "gpt", "value": "eleven"}]}]
	EOF
	"$LLMBENCH" bench --base-url "http://127.0.0.1:$PORT" --model sim-model --num-prompts 4 \
		--dataset-name sharegpt --dataset-path sg.json --max-tokens 4 --db sg.db \
		--no-progress >out 2>err; rc=$?; cat err; test $rc = 0 &&
	grep -q "dataset: 2 items for 4 requests a level (warm-up included): items are sent again" err &&
	"$LLMBENCH" bench --base-url "http://127.0.0.1:$PORT" --model sim-model --num-prompts 2 \
		--dataset-name sharegpt --dataset-path sg.json --max-tokens 4 --db sg.db \
		--no-progress >out 2>err && ! grep -q "sent again" err
'
test_expect_success 'ShareGPT as vLLM: each request asks for its reply length; vLLM drops the rest' '
	cat >sg2.json <<-EOF &&
	[{"id": "a", "conversations": [{"from": "human", "value": "Explain how a hash table resolves collisions in a few sentences."},
	  {"from": "gpt", "value": "A hash table resolves collisions by chaining entries in a list per bucket, or by open addressing, probing other slots until a free one is found."}]},
	 {"id": "b", "conversations": [{"from": "human", "value": "What is the capital of France, and why is it famous?"},
	  {"from": "gpt", "value": "Paris. It is famous for its art, food and history."}]},
	 {"id": "c", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello! How can I help you today?"}]},
	 {"id": "d", "conversations": [{"from": "human", "value": "Tell me something interesting about octopuses."}]}]
	EOF
	"$LLMBENCH" bench --base-url "http://127.0.0.1:$PORT" --model sim-model --num-prompts 4 \
		--dataset-name sharegpt --dataset-path sg2.json --db sg2.db --no-progress >out 2>err
	rc=$?; cat err; test $rc = 0 &&
	grep -q "dataset: 2 items ask for their reference reply.s length (llama-spm tokens); 2 left out" err &&
	test "$(sqlite3 sg2.db "SELECT workload_name FROM runs")" = bench-completions-sharegpt-sg2.json-outref &&
	sqlite3 sg2.db "SELECT min(output_tokens), max(output_tokens), count(DISTINCT output_tokens), count(*)
		FROM requests WHERE status = '"'"'ok'"'"'" >lens &&
	IFS="|" read -r lo hi nd n <lens && echo "$lo $hi $nd $n" &&
	# b: 10 words, a: 27 words; a SentencePiece count is at least the words, at most twice
	test "$n" = 4 && test "$nd" = 2 && test "$lo" -ge 10 && test "$lo" -le 20 &&
	test "$hi" -ge 27 && test "$hi" -le 54 &&
	"$LLMBENCH" bench --base-url "http://127.0.0.1:$PORT" --model sim-model --num-prompts 4 \
		--dataset-name sharegpt --dataset-path sg2.json --sharegpt-output-len 6 --db sg3.db \
		--no-progress >out 2>err && ! grep -q "reference reply" err &&
	test "$(sqlite3 sg3.db "SELECT group_concat(DISTINCT output_tokens) FROM requests")" = 6
'
test_expect_success 'dataset.reference_lengths: an unknown vocabulary is one error naming it' '
	"$LLMBENCH" bench --base-url "http://127.0.0.1:$PORT" --model sim-model --num-prompts 2 \
		--dataset-name sharegpt --dataset-path sg2.json --dump-workload >w.json &&
	python3 -c "
import json; w = json.load(open(\"w.json\")); w[\"dataset\"][\"reference_lengths\"] = \"nosuch\"
json.dump(w, open(\"w2.json\", \"w\"))" &&
	"$LLMBENCH" run w2.json --db w2.db --no-progress 2>err; rc=$?; cat err; test $rc = 2 &&
	grep -q "tokenizer: no vocabulary .nosuch." err
'
test_expect_success 'export --format vllm: the peaks as vLLM computes them (1 s buckets from the first send)' '
	"$LLMBENCH" bench --base-url "http://127.0.0.1:$PORT" --model sim-model --num-prompts 30 \
		--request-rate 40 --random-input-len 8 --random-output-len 6 --db pk.db --name pk \
		--no-progress >/dev/null 2>&1 &&
	"$LLMBENCH" export --db pk.db --run pk --format vllm >pk.jsonl &&
	python3 - pk.db pk.jsonl <<-PY
	import json, math, sqlite3, sys
	db = sqlite3.connect(sys.argv[1]); got = json.loads(open(sys.argv[2]).readline())
	rows = db.execute("SELECT t_send_ns, t_end_ns, chunk_times FROM requests WHERE status = '"'"'ok'"'"' AND warmup = 0").fetchall()
	def leb(b):
	    out, v, s = [], 0, 0
	    for x in b:
	        v |= (x & 0x7f) << s; s += 7
	        if not x & 0x80: out.append(v); v, s = 0, 0
	    return out
	t0 = min(r[0] for r in rows); t1 = max(r[1] for r in rows)  # ns, bucketed as the C code
	n = int(math.ceil((t1 - t0) / 1e9)) + 1
	tok, act = [0] * n, [0] * n
	for s_ns, e_ns, blob in rows:
	    t = s_ns
	    for d in leb(blob):
	        t += d; tok[int((t - t0) / 1e9)] += 1
	    for k in range(int((s_ns - t0) / 1e9), int((e_ns - t0) / 1e9) + 1): act[k] += 1
	print("peaks: tokens", max(tok), got["max_output_tokens_per_s"], "active", max(act), got["max_concurrent_requests"])
	assert got["max_output_tokens_per_s"] == max(tok) and got["max_concurrent_requests"] == max(act)
	PY
'
test_expect_success 'export vllm and report.json agree on std (population, as numpy); a dead level writes null, not 0; bench exits 3' '
	"$LLMBENCH" export --run "$(sed -n "s/^run .\(bench-[^'"'"']*\).*/\1/p" out2)" --format vllm >s.jsonl &&
	"$LLMBENCH" report --run "$(sed -n "s/^run .\(bench-[^'"'"']*\).*/\1/p" out2)" --out rs --format json >/dev/null &&
	"$LLMBENCH" bench --base-url "http://127.0.0.1:$DEAD" --model sim-model --num-prompts 4 \
		--random-input-len 32 --random-output-len 8 --no-progress --no-preflight >dead.out 2>&1
	test $? -eq 3 && grep -q "^llmbench: error: no request succeeded; run .bench-.* stored as failed" dead.out &&
	"$LLMBENCH" export --run "$(sed -n "s/^run .\(bench-[^'"'"']*\).*/\1/p" dead.out)" --format vllm >d.jsonl &&
	python3 - s.jsonl rs/report.json d.jsonl <<-"PY"
	import json, math, sys
	e = json.loads(open(sys.argv[1]).readline())
	lv = [r for r in json.load(open(sys.argv[2]))["rows"] if r["scope"] == "level"][0]["vllm"]
	for m in ("ttft", "tpot", "itl", "e2el"):
	    k = "std_%s_ms" % m
	    assert math.isclose(e[k], lv[k], rel_tol=1e-9), (k, e[k], lv[k])
	d = json.loads(open(sys.argv[3]).readline())
	assert d["completed"] == 0 and d["failed"] == 4, (d["completed"], d["failed"])
	for k in ("request_throughput", "output_throughput", "total_token_throughput"):
	    assert d[k] is None, (k, d[k])
	assert all(x is None or x > 0 for x in d["input_lens"]), d["input_lens"]
	PY
'
test_done
