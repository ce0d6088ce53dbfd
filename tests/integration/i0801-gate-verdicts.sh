#!/usr/bin/env bash
# Gate verdicts you can trust (issue 12, case 2; docs/ci.md "Verdicts"): a candidate whose every
# measured request failed fails the gate (exit 1) on its own check and on the failed-request
# rate; two runs whose rows match nowhere compare nothing (exit 2, naming the rows); and
# `--history 2` over two far-apart runs passes a 54% TTFT regression only with a warning that
# its prediction interval could not have seen the rule's 15% (the detectable change is named
# in the text, JUnit and Markdown outputs).
. "$(dirname "$0")/../lib.sh"

DB=$TMP/g.db
# workload NAME_OF_FILE PORT [levels] [warmup]
workload() {
	cat >"$TMP/$1.json" <<EOF
{
  "name": "gate-verdicts",
  "backends": [{"name": "sim", "type": "openai", "base_url": "http://127.0.0.1:$2/v1",
                "model": "m", "api": "completions", "family": "llama", "quant": "q4_0"}],
  "dataset": {"path": "$LB_TOP/datasets/prompts/llm-questions.txt", "limit": 8},
  "generation": {"max_tokens": 4},
  "load": {"levels": ${3:-[1]}, "requests": 4, "warmup": ${4:-0}}
}
EOF
}
run() { "$LLMBENCH" run "$TMP/$1.json" --db "$DB" --no-progress --name "$2" >"$TMP/run-$2.out" 2>&1; }
gate() { "$LLMBENCH" gate --db "$DB" "$@"; }
ok_count() { sqlite3 "$DB" "SELECT COUNT(*) FROM requests r JOIN runs u ON u.id = r.run_id
	WHERE u.name = '$1' AND r.warmup = 0 AND r.status = '$2'"; }

start_sim PORT --ttft-ms 20 --itl-ms 2 --output-tokens 4 || exit 1
workload w "$PORT"
workload w2 "$PORT" "[2]"

# The dead candidate: a server that answers the first request (any pre-flight check, or a
# warm-up) and then dies. The sim is stopped once its log shows a finished request; the first
# measured request can start only after two more 1 s requests, so every measured one fails
# (connection refused or cut). The setup checks that the store holds exactly that.
dead_setup() {
	local port pid i rpid
	port=$(free_port)
	"$LLMBENCH" sim --listen "127.0.0.1:$port" --ttft-ms 1000 --itl-ms 1 --output-tokens 2 \
		--log "$TMP/dead.log" >"$TMP/dead-sim.out" 2>&1 &
	pid=$!
	wait_port "$port" 10 || { kill $pid; return 1; }
	workload wd "$port" "[1]" 3
	run wd dead &
	rpid=$!
	for ((i = 0; i < 600; i++)); do
		grep -q " done " "$TMP/dead.log" 2>/dev/null && break
		sleep 0.05
	done
	kill $pid; wait $pid
	wait $rpid
	echo "run exit $? (0 before the pre-flight check and run outcome; 3 after)"
	tail -n 5 "$TMP/run-dead.out"
	sqlite3 "$DB" "SELECT r.warmup, r.status, COUNT(*) FROM requests r JOIN runs u
		ON u.id = r.run_id WHERE u.name = 'dead' GROUP BY 1, 2"
	test "$(ok_count dead ok)" = 0 &&
		test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM requests r JOIN runs u ON u.id = r.run_id
			WHERE u.name = 'dead' AND r.warmup = 0")" = 4
}

test_expect_success 'setup: a live baseline, a dead candidate, a run at another level' '
	run w base && run w live && run w2 other && dead_setup
'

test_expect_success 'a dead candidate fails the gate (exit 1) with the reason' '
	gate --baseline base --candidate dead --junit d.xml --summary d.md >out; rc=$?; cat out
	test $rc = 1 &&
	grep -q "^FAIL sim/concurrency=1 requests_ok: .*no successful request: all 4 measured requests failed" out &&
	grep -q "^FAIL sim/concurrency=1 failed_request_rate: observed 1 fraction, baseline 0 fraction" out &&
	grep -q "^gate FAILED" out && grep -q "no successful request" d.xml && grep -q "FAILED" d.md
'
test_expect_success 'the failed-request rate is a default rule: a live candidate passes it' '
	# (exit 0 or 1: other checks of two short identical runs may see timing noise)
	gate --baseline base --candidate live --all >out; rc=$?; cat out; test $rc -le 1 &&
	grep -q "^pass sim/concurrency=1 failed_request_rate: observed 0 fraction, baseline 0 fraction" out
'
test_expect_success 'the dead check holds under rules that do not name failures' '
	echo "{\"rules\": {\"ttft_p50_ms\": {\"test\": \"threshold\"}}}" >r.json &&
	gate --baseline base --candidate dead --rules r.json >out; rc=$?; cat out; test $rc = 1 &&
	grep -q "^FAIL sim/concurrency=1 requests_ok" out
'

test_expect_success 'rows that match nowhere: nothing compared, exit 2 naming them' '
	gate --baseline base --candidate other --junit n.xml --summary n.md >out 2>err; rc=$?
	cat out err; test $rc = 2 &&
	grep -q "the gate compared nothing: no row matches" err &&
	grep -q "candidate only: sim (llama q4_0)/concurrency=2" err &&
	grep -q "baseline only: sim (llama q4_0)/concurrency=1" err &&
	grep -q "^gate compared nothing" out && ! grep -q "gate passed" out &&
	grep -q "nothing_compared" n.xml && grep -q "Nothing compared" n.md
'
test_expect_success 'every check skipped is nothing compared too (exit 2)' '
	echo "{\"rules\": {\"tg_tps\": {}}}" >r2.json &&
	gate --baseline base --candidate live --rules r2.json >out 2>err; rc=$?; cat out err
	test $rc = 2 && grep -q "every check was skipped: (all rows) tg_tps" err
'

# History: two earlier runs far apart (TTFT 40 ms and 90 ms), then a candidate at 100 ms: 54%
# worse than their mean, inside a 99% prediction interval from 2 runs (t = 31.8).
# the sims start here, not inside a test: a test body runs in a subshell, where the cleanup
# that stops them at exit would be lost (they outlived the test)
start_sim P40 --ttft-ms 40 --itl-ms 2 --output-tokens 4 || exit 1
start_sim P90 --ttft-ms 90 --itl-ms 2 --output-tokens 4 || exit 1
start_sim P100 --ttft-ms 100 --itl-ms 2 --output-tokens 4 || exit 1
test_expect_success 'setup: history runs at TTFT 40 and 90 ms, a candidate at 100 ms' '
	workload h40 "$P40" && workload h90 "$P90" && workload h100 "$P100" &&
	run h40 h1 && run h90 h2 && run h100 hc
'
test_expect_success '--history 2: the pass says its interval could not see 15%' '
	gate --history 2 --candidate hc --junit h.xml --summary h.md >out; rc=$?; cat out
	test $rc = 0 &&
	grep -q "^warn sim/concurrency=1 ttft_p50_ms: observed" out &&
	grep -q "^warning: sim/concurrency=1 ttft_p50_ms: the history test could only have detected a worsening of [0-9.]* ms ([0-9.]*%) or more (the rule.s threshold: 15%" out &&
	grep -q "passed check.* could not have seen a worsening of the rule.s size" out &&
	grep -q "^gate passed, with warnings: " out && head -1 h.md | grep -qx "## llmbench gate: passed, with warnings" &&
	grep -q "name=\"verdict\" value=\"passed, with warnings\"" h.xml &&
	python3 - out h.xml h.md <<-"EOF"
	import re, sys, xml.etree.ElementTree as ET
	text = open(sys.argv[1]).read()
	m = re.search(r"ttft_p50_ms: observed ([0-9.]+) ms, baseline ([0-9.]+) ms", text)
	obs, base = float(m.group(1)), float(m.group(2))
	assert obs / base - 1 > 0.3, (obs, base)  # a regression of about 54%
	d = re.search(r"ttft_p50_ms: the history test could only have detected a worsening of ([0-9.]+) ms \(([0-9.]+)%\)", text)
	mde, rel = float(d.group(1)), float(d.group(2))
	assert rel > 100 and abs(mde / base * 100 - rel) < 0.1 * rel, (mde, rel, base)
	props = [p.get("value") for p in ET.parse(sys.argv[2]).getroot().iter("property") if p.get("name") == "warning"]
	assert any("ttft_p50_ms" in p and "could only have detected" in p for p in props), props
	md = open(sys.argv[3]).read()
	assert "**Warning**" in md and "too coarse" in md, md[:2000]
	EOF
'
test_expect_success 'with enough history the same regression fails and no warning is given' '
	run h40 h3 && run h40 h4 && run h40 h5 && run h100 hc2 &&
	gate --history 3 --candidate hc2 >out; rc=$?; cat out; test $rc = 1 &&
	grep -q "^FAIL sim/concurrency=1 ttft_p50_ms" out && ! grep -q "^warning: .*ttft_p50_ms" out
'
test_done
