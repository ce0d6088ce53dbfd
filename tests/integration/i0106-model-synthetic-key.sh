#!/usr/bin/env bash
# The "synthetic" caveat travels in the GGUF (metadata key llmbench.synthetic, read through the
# gguf API), not in its name: a model made with a custom --name, and its quantized copy, are
# labelled synthetic by model info, perplexity, the stored summaries, report, compare and the
# gate summary; a model without the key is not, even named "... (random weights)".
. "$(dirname "$0")/../lib.sh"

if "$LLMBENCH" bench-model --model "$TMP/none.gguf" 2>&1 | grep -q "not built in"; then
	test_skip "llama.cpp is not built in (make deps)"
	test_done
	exit
fi
q() { sqlite3 "$TMP/run.db" "$1"; }

test_expect_success 'model make --name: a custom name, the key in the metadata' '
	"$LLMBENCH" model make --arch llama --name "Acme 7B chat" --out "$TMP/acme.gguf" \
		--seed 3 --ctx 256 &&
	"$LLMBENCH" model info --json "$TMP/acme.gguf" >info.json && cat info.json &&
	grep -q "\"name\":\"Acme 7B chat\"" info.json && grep -q "\"synthetic\":true" info.json &&
	"$LLMBENCH" model info "$TMP/acme.gguf" | grep -q "^synthetic: *yes"
'

# the same model without the key (renamed in place, same length: the file stays valid) and
# with the default name, which says "(random weights)": the name is not what counts
test_expect_success 'a GGUF without the key is not synthetic, whatever its name' '
	"$LLMBENCH" model make --arch llama --out "$TMP/plain.gguf" --seed 4 --ctx 256 &&
	python3 -c "
import sys
p = sys.argv[1]
b = open(p, \"rb\").read()
assert b.count(b\"llmbench.synthetic\") == 1
open(p, \"wb\").write(b.replace(b\"llmbench.synthetic\", b\"llmbench.xynthetic\"))
" "$TMP/plain.gguf" &&
	"$LLMBENCH" model info --json "$TMP/plain.gguf" >info.json && cat info.json &&
	grep -q "(random weights)" info.json && grep -q "\"synthetic\":false" info.json &&
	! "$LLMBENCH" model info "$TMP/plain.gguf" | grep -q "^synthetic"
'

test_expect_success 'model quantize keeps the key' '
	"$LLMBENCH" model quantize "$TMP/acme.gguf" "$TMP/acme-q8.gguf" q8_0 &&
	"$LLMBENCH" model info --json "$TMP/acme-q8.gguf" | grep -q "\"synthetic\":true"
'

python3 -c "
import random
random.seed(1)
w = 'the of and to in is was for on that with as by at from his her an which one'.split()
print(' '.join(random.choice(w) for _ in range(1500)))" >"$TMP/text.txt"

test_expect_success 'perplexity shows the caveat for a synthetic model only' '
	"$LLMBENCH" perplexity --model "$TMP/acme-q8.gguf" --text "$TMP/text.txt" --ctx 64 \
		--chunks 2 --threads 1 >out && cat out &&
	grep -q "^synthetic: random-weight generated model" out &&
	"$LLMBENCH" perplexity --model "$TMP/acme-q8.gguf" --text "$TMP/text.txt" --ctx 64 \
		--chunks 2 --threads 1 --json | grep -q "\"synthetic\":true,\"caveat\":\"synthetic" &&
	"$LLMBENCH" perplexity --model "$TMP/plain.gguf" --text "$TMP/text.txt" --ctx 64 \
		--chunks 2 --threads 1 >out && cat out && ! grep -q "^synthetic" out &&
	"$LLMBENCH" perplexity --model "$TMP/plain.gguf" --text "$TMP/text.txt" --ctx 64 \
		--chunks 2 --threads 1 --json | grep -q "\"synthetic\":false"
'

cat >"$TMP/w.json" <<JSON
{
  "name": "caveat-key",
  "backends": [
    {"name": "acme", "type": "llamacpp", "model_path": "$TMP/acme.gguf", "threads": 1, "ctx": 256},
    {"name": "plain", "type": "llamacpp", "model_path": "$TMP/plain.gguf", "threads": 1, "ctx": 256}
  ],
  "dataset": {"path": "$TMP/text.txt", "format": "lines"},
  "load": {"mode": "concurrency", "levels": [1], "requests": 1},
  "generation": {"max_tokens": 4},
  "perplexity": {"text": "$TMP/text.txt", "ctx": 64, "chunks": 2, "kld": false}
}
JSON

test_expect_success 'two runs: perplexity stored, synthetic noted for the keyed model only' '
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/run.db" --name r1 --no-progress >/dev/null 2>err1 &&
	"$LLMBENCH" run "$TMP/w.json" --db "$TMP/run.db" --name r2 --no-progress >/dev/null 2>err2 &&
	[ "$(q "SELECT COUNT(*) FROM summaries s JOIN backends b ON b.id = s.backend_id
		WHERE s.metric = \"ppl\" AND s.value > 0 AND b.name = \"acme\"
		AND s.note LIKE \"synthetic%\"")" = 2 ] &&
	[ "$(q "SELECT COUNT(*) FROM summaries s JOIN backends b ON b.id = s.backend_id
		WHERE s.metric = \"ppl\" AND s.value > 0 AND b.name = \"plain\"
		AND s.note IS NULL")" = 2 ]
'

test_expect_success 'report (md, json, html) carries the caveat beside the perplexity' '
	"$LLMBENCH" report --db "$TMP/run.db" --run r2 --out "$TMP/rep" --format md,json,html &&
	grep -q "^[0-9]*\. perplexity: synthetic: random-weight generated model" "$TMP/rep/report.md" &&
	grep -q "\"note\": *\"synthetic: random-weight generated model\"" "$TMP/rep/report.json" &&
	grep -q "synthetic: random-weight generated model" "$TMP/rep/index.html" &&
	grep -q "^> \*\*Caveat\*\* (acme): synthetic model" "$TMP/rep/report.md"
'

test_expect_success 'compare: a caveat line for the synthetic backend, the cells marked' '
	"$LLMBENCH" compare --db "$TMP/run.db" r1 r2 >cmp.md && cat cmp.md &&
	grep -q "^> \*\*Caveat\*\* (A, acme): synthetic model" cmp.md &&
	grep -q "^> \*\*Caveat\*\* (B, acme): synthetic model" cmp.md &&
	! grep -q "Caveat.*plain" cmp.md &&
	grep -q "^| acme | (backend-wide) | perplexity | [0-9.]* (synthetic) | [0-9.]* (synthetic) |" cmp.md &&
	! grep -q "^| model size (MiB) | .*synthetic" cmp.md &&
	"$LLMBENCH" compare --db "$TMP/run.db" r1 r2 --format csv >cmp.csv &&
	grep -q "^both,acme,backend,,,ppl,.*,synthetic: random-weight generated model,synthetic: random-weight generated model" cmp.csv &&
	! grep -q "^both,plain,.*synthetic" cmp.csv
'

test_expect_success 'gate: the summary says which backend is synthetic' '
	"$LLMBENCH" gate --db "$TMP/run.db" --baseline r1 --candidate r2 --summary sum.md >gate.out 2>&1;
	cat gate.out;
	grep -q "candidate backend .acme. is a synthetic model" gate.out &&
	grep -q "baseline backend .acme. is a synthetic model" gate.out &&
	grep -q "candidate backend .acme. is a synthetic model" sum.md &&
	! grep -q "plain. is a synthetic" gate.out
'

test_done
