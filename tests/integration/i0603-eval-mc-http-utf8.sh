#!/usr/bin/env bash
# Multiple choice over HTTP with non-ASCII text: the simulator echoes prompt log-probabilities
# as vLLM does, text_offset in characters; the harness converts them to bytes, so every token
# of each answer counts (the first answer token of "Q: Café?" is no longer dropped). Each
# stored log-likelihood is recomputed from the sim's rule (a token is a word with the white
# space before it, log-probability -(0.5 + 0.25 x its characters)). `sim --no-echo` refuses
# echo as llama-server does, and MC is then unavailable with the reason.
. "$(dirname "$0")/../lib.sh"

start_sim PORT --ttft-ms 1 --itl-ms 1 || exit 1
start_sim NOECHO --ttft-ms 1 --itl-ms 1 --no-echo || exit 1
q() { sqlite3 "$TMP/run.db" "$1"; }

cat >"$TMP/mc.json" <<'JSON'
[
 {"question": "Café?",
  "mc1_targets": {"Crème brûlée": 1, "Naïve tea": 0, "Plain water": 0}},
 {"question": "Is 東京 big?",
  "mc1_targets": {"Yes, 東京 is big": 1, "No": 0},
  "mc2_targets": {"Yes, 東京 is big": 1, "Indeed, very big": 1, "No": 0}}
]
JSON

workload() {
	cat <<JSON
{
  "name": "mc-utf8",
  "backends": [{"name": "vllm-like", "type": "openai", "base_url": "http://127.0.0.1:$1/v1",
                "model": "sim-model", "api": "completions"}],
  "load": {"mode": "concurrency", "levels": [1], "requests": 1},
  "eval": {"mc": {"path": "$TMP/mc.json"}}
}
JSON
}

test_expect_success 'the sim echoes prompt log-probabilities with character offsets' '
	curl -sf "http://127.0.0.1:$PORT/v1/completions" -d "{\"prompt\": \"Q: Café? A\",
		\"echo\": true, \"logprobs\": 1, \"max_tokens\": 1}" >echo.json && cat echo.json &&
	grep -q "\"text_offset\":\[0,2,8,10\]" echo.json &&
	grep -q "\"tokens\":\[\"Q:\",\" Café?\",\" A\",\" the\"\]" echo.json
'

test_expect_success 'the run stores a log-likelihood per choice' '
	workload "$PORT" >w.json &&
	"$LLMBENCH" run w.json --db "$TMP/run.db" --name mc --no-progress >out 2>err;
	rc=$?; cat out err; [ $rc = 0 ] &&
	[ "$(q "SELECT COUNT(*) FROM mc_choices")" = 8 ]
'

test_expect_success 'every choice: the sum and count of all its tokens, bytes as UTF-8' '
	python3 - "$TMP/run.db" <<PY
import re, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT choice, logprob_sum, n_tokens, n_bytes FROM mc_choices").fetchall()
assert len(rows) == 8, rows
bad = 0
for choice, lp, nt, nb in rows:
    toks = re.findall(r"\s*\S+", " " + choice)
    want = sum(-(0.5 + 0.25 * len(t)) for t in toks)
    ok = abs(lp - want) < 1e-9 and nt == len(toks) and nb == len((" " + choice).encode())
    print(choice, lp, nt, nb, "want", want, len(toks), "ok" if ok else "WRONG")
    bad += not ok
sys.exit(1 if bad else 0)
PY
'

test_expect_success 'MC1/MC2/MC3 are stored as figures, not unavailable' '
	[ "$(q "SELECT COUNT(*) FROM summaries WHERE metric IN (\"mc1\", \"mc2\", \"mc3\")
		AND value BETWEEN 0 AND 1 AND n = 2")" = 3 ]
'

test_expect_success 'an endpoint that refuses echo: MC unavailable, naming it' '
	workload "$NOECHO" >w2.json &&
	"$LLMBENCH" run w2.json --db "$TMP/run2.db" --name mc2 --no-progress >out 2>err;
	rc=$?; cat err; [ $rc = 0 ] &&
	[ "$(sqlite3 "$TMP/run2.db" "SELECT COUNT(*) FROM summaries WHERE metric IN (\"mc1\",
		\"mc2\", \"mc3\") AND value IS NULL AND note LIKE \"%Only no echo is supported%\"")" = 3 ]
'

test_done
