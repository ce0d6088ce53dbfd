#!/usr/bin/env bash
# Energy without any power source (an empty powercap root, no NVML library, no hl-smi): the run
# still exits 0 and every energy figure (per level, and run-wide) is NULL with "unavailable: <reason>", never 0; no power
# series; the report still renders and says why there is no power plot; export leaves
# energy_j_attributed empty. A power section with an unknown key is exit 2 naming the key,
# before any request reaches the server.
. "$(dirname "$0")/../lib.sh"

for t in sqlite3 python3; do
	command -v $t >/dev/null || { echo "1..0 # skip $t not installed"; exit 0; }
done

start_sim PORT --ttft-ms 20 --itl-ms 5 --output-tokens 16 --log "$TMP/sim.log" || exit 1
mkdir -p "$TMP/empty-powercap"
export LLMBENCH_POWERCAP_ROOT=$TMP/empty-powercap LLMBENCH_NVML_LIB=$TMP/none/libnvidia-ml.so.1
export LLMBENCH_HLSMI=$TMP/none/hl-smi

workload() { # power-section-json
	cat <<-EOF
	{
	  "name": "power-none",
	  "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
	                "model": "sim-model", "api": "completions"}],
	  "dataset": {"path": "$LB_TOP/datasets/prompts/llm-questions.txt", "format": "lines"},
	  "generation": {"max_tokens": 16, "temperature": 0},
	  "load": {"mode": "concurrency", "levels": [2], "requests": 8, "warmup": 1},
	  "power": $1
	}
	EOF
}
ENERGY="'energy_j','power_avg_w','power_idle_w','energy_dynamic_j','j_per_output_token',
	'j_per_total_token','tokens_per_j','j_per_request_attributed'"

test_expect_code 2 'power section with an unknown key: exit 2 naming it' '
	workload "{\"sources\": \"auto\", \"interval\": 100}" >bad.json &&
	"$LLMBENCH" run bad.json --db "$TMP/bad.db" --name bad --no-progress >out 2>err
	rc=$?; cat err; grep -q "unknown key .interval. in power (valid: .*); did you mean .interval_ms.?" err || exit 9; exit $rc
'
test_expect_success '... and no request was sent, no run stored' '
	sleep 0.3 && test ! -s "$TMP/sim.log" &&
	{ test ! -e "$TMP/bad.db" ||
	  test "$(sqlite3 "$TMP/bad.db" "SELECT (SELECT COUNT(*) FROM runs) + (SELECT COUNT(*) FROM requests)")" = 0; }
'

test_expect_success 'no power source: the run exits 0 and says why' '
	workload "{\"sources\": \"auto\", \"idle_s\": 0.5}" >w.json &&
	"$LLMBENCH" run w.json --db "$TMP/n.db" --name none --no-progress >run.out 2>&1 &&
	cat run.out && grep -q "power: no power source" run.out &&
	grep -q "8 requests ok, 0 failed" run.out
'
test_expect_success 'every energy figure is NULL with "unavailable: <reason>"' '
	sqlite3 "$TMP/n.db" "SELECT metric, value IS NULL, note FROM summaries
		WHERE metric IN ($ENERGY)" >fig.txt && cat fig.txt &&
	test $(wc -l <fig.txt) -eq 16 &&
	test $(grep -c "^[a-z_]*|1|unavailable: ." fig.txt) -eq 16 &&
	test "$(sqlite3 "$TMP/n.db" "SELECT COUNT(*) FROM summaries WHERE metric IN ($ENERGY)
		AND backend_id = 0 AND level_id = 0")" = 8 &&
	grep -q "^energy_j|1|unavailable: no power source" fig.txt &&
	grep "^energy_j|" fig.txt | grep -q "rapl: " &&
	grep "^energy_j|" fig.txt | grep -q "nvml: "
'
test_expect_success 'no power series stored' '
	test "$(sqlite3 "$TMP/n.db" "SELECT COUNT(*) FROM series WHERE series LIKE '"'"'power%'"'"'")" = 0
'
test_expect_success 'the report renders the reasons in its energy section' '
	"$LLMBENCH" report --db "$TMP/n.db" --out rep --format md,csv,json >/dev/null &&
	test -s rep/report.csv && grep -q "unavailable: no power source" rep/report.json &&
	sed -n "/^### Energy/,/^### /p" rep/report.md >energy.md && cat energy.md &&
	grep -q "energy and power ([0-9]* figures): not measured: no power source (rapl: " energy.md
'
if command -v gnuplot >/dev/null; then
	test_expect_success 'the power-over-time plot is not drawn, with its reason' '
		"$LLMBENCH" report --db "$TMP/n.db" --out rep2 --format md,png >/dev/null &&
		test ! -e rep2/plots/power_time.png && test -s rep2/plots/ttft_cdf.png &&
		grep -q "Power over time: not drawn: no power samples stored" rep2/report.md
	'
else
	test_skip 'power plot: gnuplot not installed'
fi
test_expect_success 'export: energy_j_attributed is empty for every request' '
	"$LLMBENCH" export --db "$TMP/n.db" --run none >req.csv &&
	python3 -c "import csv,sys; r=list(csv.DictReader(open(sys.argv[1], newline=\"\"))); assert len(r) == 9 and all(x[\"energy_j_attributed\"] == \"\" for x in r), r" req.csv
'
test_done
