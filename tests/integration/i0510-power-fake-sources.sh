#!/usr/bin/env bash
# Energy end to end: `llmbench run` against `llmbench sim` with a fake powercap tree and the fake
# NVML library (tests/fake/fake_nvml.c). A background writer advances the package counter at
# 10 W while the machine is "idle" and 25 W once the simulator has seen a request (its send log
# is not empty), wrapping at max_energy_range_uj (40 J: several wraps per run); a nested core
# zone (7/20 W) and a dram subzone (3/5 W) advance too and must not be added (default zones:
# package). The fake GPU draws 50 W. So the idle baseline is 60 W and each level 75 W.
# Checks: stored figures against those rates (5%), their definitions against each other,
# provenance, series, the report (md, csv, json, png) and per-request attributed energy in
# `llmbench export`.
. "$(dirname "$0")/../lib.sh"

for t in sqlite3 python3 gnuplot; do
	command -v $t >/dev/null || { echo "1..0 # skip $t not installed"; exit 0; }
done

cat >"$TMP/writer.py" <<'PY'
import os, sys, time
root, busy_file, ready = sys.argv[1], sys.argv[2], sys.argv[3]
R = 40_000_000  # max_energy_range_uj: 40 J
zones = [("intel-rapl:0", "package-0", 10, 25, R - 3_000_000),  # dir, name, idle W, busy W, start
         ("intel-rapl:0:0", "core", 7, 20, 1_000_000),
         ("intel-rapl:0:1", "dram", 3, 5, 2_000_000)]
e = {}
for d, name, _, _, start in zones:
    os.makedirs(os.path.join(root, d), exist_ok=True)
    open(os.path.join(root, d, "name"), "w").write(name + "\n")
    open(os.path.join(root, d, "max_energy_range_uj"), "w").write("%d\n" % R)
    e[d] = float(start)
def put(d):  # atomic: a reader never sees a half-written number
    p = os.path.join(root, d, "energy_uj")
    with open(p + ".tmp", "w") as f:
        f.write("%d\n" % (int(e[d]) % R))
    os.replace(p + ".tmp", p)
for d, *_ in zones:
    put(d)
open(ready, "w").close()
last = t0 = time.monotonic()
busy = wraps = 0
while time.monotonic() - t0 < 120:  # bounded; killed at the end of the test
    time.sleep(0.02)
    now = time.monotonic()
    for d, _, wi, wb, _ in zones:
        before = int(e[d]) // R
        e[d] += (wb if busy else wi) * 1e6 * (now - last)
        put(d)
        if d == "intel-rapl:0" and int(e[d]) // R != before:
            wraps += 1
            print("wrap %d" % wraps, flush=True)
    last = now
    if not busy and os.path.exists(busy_file) and os.path.getsize(busy_file) > 0:
        busy = 1
        print("busy", flush=True)
PY

test_expect_success 'fake NVML library builds (cc -shared -fPIC tests/fake/fake_nvml.c)' '
	${CC:-cc} -shared -fPIC -O1 -o "$TMP/libfake_nvml.so" "$LB_TOP/tests/fake/fake_nvml.c"
'

start_sim PORT --ttft-ms 50 --itl-ms 10 --output-tokens 32 --log "$TMP/sim.log" || exit 1
python3 "$TMP/writer.py" "$TMP/powercap" "$TMP/sim.log" "$TMP/ready" >"$TMP/writer.out" 2>&1 &
WRITER=$!
cleanup_add "kill $WRITER; wait $WRITER"
for i in $(seq 50); do [ -e "$TMP/ready" ] && break; sleep 0.1; done

cat >"$TMP/w.json" <<EOF
{
  "name": "power-e2e",
  "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
                "model": "sim-model", "api": "completions"}],
  "dataset": {"path": "$LB_TOP/datasets/prompts/llm-questions.txt", "format": "lines"},
  "generation": {"max_tokens": 32, "temperature": 0},
  "load": {"mode": "concurrency", "levels": [1, 2], "duration_s": 2.5, "warmup": 1},
  "power": {"sources": "auto", "interval_ms": 50, "idle_s": 1.5}
}
EOF

DB=$TMP/p.db
export LLMBENCH_POWERCAP_ROOT=$TMP/powercap LLMBENCH_NVML_LIB=$TMP/libfake_nvml.so
export FAKE_NVML_POWER_MW=50000 LLMBENCH_HLSMI=$TMP/no-such-hl-smi

test_expect_success 'run with the fake powercap tree and fake NVML exits 0' '
	"$LLMBENCH" run "$TMP/w.json" --db "$DB" --name pw --no-progress >"$TMP/run.out" 2>&1 &&
	cat "$TMP/run.out" &&
	grep -q "power: .*rapl:package-0" "$TMP/run.out" && grep -q "nvml:gpu0" "$TMP/run.out" &&
	grep -q "measuring idle power" "$TMP/run.out"
'
test_expect_success 'the package counter wrapped during the run' '
	cat "$TMP/writer.out" && grep -q "^busy" "$TMP/writer.out" && grep -q "^wrap 2" "$TMP/writer.out"
'

# All figures of both levels, one JSON object per level (metric -> [value, n, unit, prov, note]),
# plus the level's measured window and tokens from the requests table.
sqlite3 -json "$DB" "SELECT l.idx, s.metric, s.value, s.n, s.unit, s.provenance, s.note
	FROM summaries s JOIN levels l ON l.id = s.level_id JOIN runs r ON r.id = s.run_id
	WHERE r.name = 'pw'" >"$TMP/sum.json" 2>/dev/null
sqlite3 -json "$DB" "SELECT l.idx, COUNT(*) AS n_ok, SUM(q.output_tokens) AS n_out,
	SUM(q.prompt_tokens + q.output_tokens) AS n_tot,
	(MAX(q.t_end_ns) - MIN(q.t_send_ns)) / 1e9 AS d
	FROM requests q JOIN levels l ON l.id = q.level_id
	WHERE q.warmup = 0 AND q.status = 'ok' GROUP BY l.idx" >"$TMP/req.json" 2>/dev/null

check() { # python assertions over S[idx][metric] = (value, n, unit, prov, note), Q[idx]
	python3 - "$TMP/sum.json" "$TMP/req.json" "$1" <<-'PY'
	import json, sys
	S, Q = {}, {}
	for r in json.load(open(sys.argv[1])):
	    S.setdefault(r["idx"], {})[r["metric"]] = (r["value"], r["n"], r["unit"], r["provenance"] or "", r["note"] or "")
	for r in json.load(open(sys.argv[2])):
	    Q[r["idx"]] = r
	assert sorted(S) == [0, 1] and sorted(Q) == [0, 1], (sorted(S), sorted(Q))
	def near(a, b, rel):
	    return a is not None and abs(a - b) <= rel * abs(b)
	for i in (0, 1):
	    s, q = S[i], Q[i]
	    E, D = s["energy_j"][0], s["duration_s"][0]
	    print("level %d: E %.3f J over %.3f s = %.3f W, idle %.3f W, dynamic %.3f J, %.5f J/out tok, %d req" %
	          (i, E, D, s["power_avg_w"][0], s["power_idle_w"][0], s["energy_dynamic_j"][0],
	           s["j_per_output_token"][0], q["n_ok"]))
	    exec(sys.argv[3])
	PY
}

test_expect_success 'each level lasts over 1 s: no short-window note' '
	check "assert D > 1.5 and near(D, q[\"d\"], 1e-3), (D, q); assert \"short window\" not in s[\"energy_j\"][4], s[\"energy_j\"]"
'
test_expect_success 'energy_j and power_avg_w match 25 W package + 50 W GPU (core, dram not added)' '
	check "assert near(s[\"power_avg_w\"][0], 75, 0.05), s[\"power_avg_w\"]; assert near(E, 75 * D, 0.05), (E, D); assert near(s[\"power_avg_w\"][0] * D, E, 1e-6)"
'
test_expect_success 'units and sample counts' '
	check "assert [s[m][2] for m in (\"energy_j\", \"power_avg_w\", \"power_idle_w\", \"energy_dynamic_j\")] == [\"J\", \"W\", \"W\", \"J\"], s; assert s[\"energy_j\"][1] >= 2 * D / 0.05 * 0.5, s[\"energy_j\"]"
'
test_expect_success 'provenance names both sources, their scopes and the 50 ms interval; nothing nested' '
	check "p = s[\"energy_j\"][3]; assert sorted(p.split(\"+\")) == [\"nvml:gpu0@50ms\", \"rapl:package-0@50ms\"], p; assert all(s[m][3] == p for m in (\"power_avg_w\", \"j_per_output_token\", \"tokens_per_j\")), s"
'
test_expect_success 'idle baseline: power_idle_w is 10 W package + 50 W GPU' '
	check "assert near(s[\"power_idle_w\"][0], 60, 0.05), s[\"power_idle_w\"]"
'
test_expect_success 'energy_dynamic_j = E - P_idle * D, about 15 W over the window' '
	check "dyn = s[\"energy_dynamic_j\"][0]; assert abs(dyn - (E - s[\"power_idle_w\"][0] * D)) <= 1e-6 * E, dyn; assert 10 * D <= dyn <= 20 * D, (dyn, D)"
'
test_expect_success 'per-token and per-request figures from the stored tokens' '
	check "assert near(s[\"j_per_output_token\"][0], E / q[\"n_out\"], 1e-6); assert near(s[\"j_per_total_token\"][0], E / q[\"n_tot\"], 1e-6); assert near(s[\"tokens_per_j\"][0], q[\"n_out\"] / E, 1e-6); assert near(s[\"j_per_request_attributed\"][0], E / q[\"n_ok\"], 1e-6); assert \"attributed\" in s[\"j_per_request_attributed\"][4], s[\"j_per_request_attributed\"]"
'

test_expect_success 'raw samples stored as series power_w:<label> per level, at the sources rates' '
	sqlite3 "$DB" "SELECT l.idx, x.series, COUNT(*), AVG(x.value) FROM series x
		JOIN levels l ON l.id = x.level_id GROUP BY l.idx, x.series" >"$TMP/series.txt" &&
	cat "$TMP/series.txt" &&
	test "$(cut -d"|" -f2 "$TMP/series.txt" | sort -u | tr "\n" " ")" = "power_w:nvml:gpu0 power_w:rapl:package-0 " &&
	awk -F"|" "\$3 < 20 { bad = 1; print \"few samples:\", \$0 }
		\$2 ~ /rapl/ && (\$4 < 22.5 || \$4 > 27.5) { bad = 1; print \"rapl mean:\", \$0 }
		\$2 ~ /nvml/ && (\$4 < 47.5 || \$4 > 52.5) { bad = 1; print \"nvml mean:\", \$0 }
		END { exit bad }" "$TMP/series.txt"
'

test_expect_success 'report md, csv, json carry the energy figures; png draws power over time' '
	"$LLMBENCH" report --db "$DB" --run pw --out "$TMP/rep" --format md,csv,json,png >/dev/null &&
	grep -q "^### Energy" "$TMP/rep/report.md" && grep -q "| J/out tok |" "$TMP/rep/report.md" &&
	grep -q "\[Power over time\](plots/power_time.png)" "$TMP/rep/report.md" &&
	! grep -q "Power over time: not drawn" "$TMP/rep/report.md" &&
	python3 - "$TMP/rep/report.csv" "$TMP/sum.json" <<-PY
	import csv, json, sys
	rows = [r for r in csv.DictReader(open(sys.argv[1], newline="")) if r.get("energy_j")]
	want = sorted(r["value"] for r in json.load(open(sys.argv[2])) if r["metric"] == "energy_j")
	got = sorted(float(r["energy_j"]) for r in rows)
	assert len(got) == 2 and all(abs(a - b) <= 1e-6 * b for a, b in zip(got, want)), (got, want)
	assert all(r.get("power_avg_w") and r.get("j_per_output_token") for r in rows), rows[0]
	PY
	grep -q "energy_j" "$TMP/rep/report.json" && grep -q "rapl:package-0@50ms" "$TMP/rep/report.json" &&
	test -s "$TMP/rep/plots/power_time.png" &&
	grep -q "power_w:" "$TMP/rep/plots/power_time.dat"
'

test_expect_success 'export: energy_j_attributed shares each level energy by tokens' '
	"$LLMBENCH" export --db "$DB" --run pw --format csv >"$TMP/req.csv" &&
	python3 - "$TMP/req.csv" "$TMP/sum.json" <<-PY
	import csv, json, sys
	E = {r["idx"]: r["value"] for r in json.load(open(sys.argv[2])) if r["metric"] == "energy_j"}
	rows = list(csv.DictReader(open(sys.argv[1], newline="")))
	for i in (0, 1):
	    m = [r for r in rows if r["level"] == str(i) and r["warmup"] == "0" and r["status"] == "ok"]
	    tot = sum(int(r["prompt_tokens"]) + int(r["output_tokens"]) for r in m)
	    got = sum(float(r["energy_j_attributed"]) for r in m)
	    assert m and abs(got - E[i]) <= 1e-6 * E[i], (i, got, E[i])
	    for r in m:
	        want = E[i] * (int(r["prompt_tokens"]) + int(r["output_tokens"])) / tot
	        assert abs(float(r["energy_j_attributed"]) - want) <= 1e-6 * want, r
	w = [r for r in rows if r["warmup"] == "1"]
	assert w and all(r["energy_j_attributed"] == "" for r in w), w
	PY
'
test_done
