#!/usr/bin/env bash
# The report puts the server's scraped metrics beside the client's (docs/traffic.md): a gnuplot
# figure of the client's TTFT and the server's running/waiting counts, KV-cache usage and
# prefix-cache hit rate on one time axis, and a table of the server's histogram quantiles
# against the client's. The simulator's truth: TTFT 48-50 ms (50, or 2 cached blocks x 1 ms
# less) lands in vLLM's TTFT bucket (40, 60] ms, ITL 30 ms in its ITL bucket (25, 50] ms, so the
# server's interpolated quantiles are only that fine and the client's agree within a bucket.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 50 --itl-ms 30 --output-tokens 1000 --prefix-cache-ms-per-block 1 \
	--prefix-block-tokens 512 --kv-cache-tokens 20000 || exit 1
"$LLMBENCH" trace gen --requests 30 --rate 20 --arrival constant --input-tokens 1024 \
	--output-tokens 8 --reuse 1 -o "$TMP/tr.jsonl" || exit 1
cat >"$TMP/w.json" <<EOF2
{"name": "srv",
 "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
               "model": "m", "api": "completions", "stream": true}],
 "dataset": {"path": "$TMP/tr.jsonl", "format": "trace"},
 "generation": {"max_tokens": 64},
 "load": {"mode": "trace", "levels": [1, 2], "lag_bound_ms": 200},
 "server_metrics": {"interval_ms": 100}}
EOF2
json() { python3 -c "import json, sys; d = json.load(open('$TMP/rep/report.json')); $1"; }

test_expect_success 'a run that scrapes the sim, and its report' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/r.db" --name srv --no-progress --no-preflight >out 2>&1 ||
	{ cat out; exit 1; }
	"$LLMBENCH" report --db "$TMP/r.db" --out "$TMP/rep" >out 2>&1 || { cat out; exit 1; }
	test "$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM server_scrapes WHERE ok = 1")" -ge 2
'
test_expect_success 'the figure: a real gnuplot PNG and SVG, client TTFT and server figures in its data' '
	b="$TMP/rep/plots/server_time" &&
	test -s "$b.png" && test "$(head -c 4 "$b.png" | tail -c 3)" = PNG && grep -q "<svg" "$b.svg" &&
	test "$(stat -c %s "$b.png")" -gt 10000 &&
	grep -q "^# client sim: t_send_s" "$b.dat" &&
	test "$(awk "/^# client/ { on = 1; next } on && NF == 2" "$b.dat" | wc -l)" = 60 &&
	grep -q "index 0 using 1:2 with steps" "$b.gp" && grep -q "prefix-cache hit rate" "$b.gp" && grep -q "KV-cache usage" "$b.gp" &&
	grep -q "set multiplot layout 3,1" "$b.gp" &&
	# the server columns hold measured values (a running count above 0 in some scrape), no zeros for gaps
	awk -F"\t" "/^# server/ { on = 1; next } /^$/ { on = 0 } on && \$2 > 0 { n++ } END { exit !(n >= 1) }" "$b.dat" &&
	grep -q "Client TTFT and server metrics over time" "$TMP/rep/report.md" &&
	grep -q "plots/server_time.svg\|<svg" "$TMP/rep/index.html"
'
test_expect_success 'the figure re-draws from its kept script' '
	cd "$TMP/rep/plots" && rm -f server_time.png && gnuplot -e "fmt='"'"'png'"'"'" server_time.gp &&
	test -s server_time.png
'
test_expect_success 'the table: server vs client TTFT and ITL p50/p99 with the difference, in every format' '
	grep -q "^### Server vs client latency quantiles (ms)" "$TMP/rep/report.md" &&
	grep -q "TTFT p50 server" "$TMP/rep/report.md" &&
	grep -q "Server vs client latency quantiles" "$TMP/rep/index.html" &&
	head -1 "$TMP/rep/report.csv" | grep -q "srvcmp_ttft_p50_diff_ms" &&
	json "
rows = [r for r in d[\"rows\"] if r[\"scope\"] == \"level\"]
assert len(rows) == 2, len(rows)
for r in rows:
    m = r[\"metrics\"]
    v = lambda k: m[k][\"value\"]
    for f in (\"ttft\", \"itl\"):
        for q in (\"p50\", \"p99\"):
            c, s, dd = (v(\"srvcmp_%s_%s_%s_ms\" % (f, q, x)) for x in (\"client\", \"server\", \"diff\"))
            assert abs(dd - (s - c)) < 1e-9, (f, q, c, s, dd)
            assert c == v(\"%s_%s_ms\" % (f, q)) and s == v(\"server_%s_%s_ms\" % (f, q))
    print(r[\"level\"], [round(v(k), 2) for k in sorted(m) if k.startswith(\"srvcmp\")])
    # the truth: TTFT 48-50 ms, inside vLLM bucket (40, 60]; ITL 30 ms inside (25, 50]
    assert 40 < v(\"srvcmp_ttft_p50_server_ms\") <= 60
    assert 48 <= v(\"srvcmp_ttft_p50_client_ms\") < 60 + 20
    assert abs(v(\"srvcmp_ttft_p50_diff_ms\")) <= 20
    assert 25 < v(\"srvcmp_itl_p50_server_ms\") <= 50
    assert 29 <= v(\"srvcmp_itl_p50_client_ms\") < 50
    assert abs(v(\"srvcmp_itl_p50_diff_ms\")) <= 25
    # p99: at most one bucket further on a slow machine
    assert 40 < v(\"srvcmp_ttft_p99_server_ms\") <= 80 and 25 < v(\"srvcmp_itl_p99_server_ms\") <= 75
"
'
test_expect_success 'a figure the server does not expose is unavailable with the reason, never 0' '
	grep -q "^- server_batch_size_mean: unavailable: the server exposes no batch_size metric (server: vllm)" \
		"$TMP/rep/report.md"
'
test_expect_success 'no scrape at all: the figure is skipped with the reason, the server side unavailable' '
	p=$(free_port) &&
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/u.db" --name u --no-progress --no-preflight \
		--set load.levels="[4]" \
		--set server_metrics="{\"url\": \"http://127.0.0.1:$p/metrics\", \"interval_ms\": 100}" >/dev/null 2>&1 &&
	"$LLMBENCH" report --db "$TMP/u.db" --out "$TMP/u" --format md,png >/dev/null 2>&1 &&
	grep -q "Client TTFT and server metrics over time: not drawn: no successful scrape of the server.s metrics ([0-9]* failed: " "$TMP/u/report.md" &&
	grep -q "^- TTFT p50 server (ms): unavailable: no successful scrape" "$TMP/u/report.md" &&
	! grep -q "TTFT p50 server (ms): 0" "$TMP/u/report.md" && ! test -e "$TMP/u/plots/server_time.png"
'
test_done
