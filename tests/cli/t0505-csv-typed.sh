#!/usr/bin/env bash
# Typed CSV (issue 12 "Typed outputs"): in every CSV llmbench writes (report.csv, compare --format
# csv, export --format csv), a numeric column holds a number or is empty, never a word such as
# "unavailable", "nan" or "inf"; the reason for an empty figure is in a text column
# (report: "<metric>.note", compare: a_note / b_note); every line ends in LF alone.
. "$(dirname "$0")/../lib.sh"

FIXTURE=$LB_TOP/${LB_BUILD:-build}/tests/test_report

cat >"$TMP/check.py" <<'EOF'
import csv, io, math, re, sys

NUM = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
# text columns of each kind of CSV; every other column is numeric
TEXT = {
    "report": {"run", "backend", "type", "model", "family", "quant", "mode", "scope", "status",
               "invalid_reason"},
    "compare": {"match", "backend", "scope", "mode", "metric", "unit", "a_note", "b_note"},
    "export": {"run", "backend", "family", "quant", "level_mode", "status", "error",
               "prompt_tokens_source", "output_tokens_source"},
}

def check(kind, path):
    raw = open(path, "rb").read()
    assert b"\r" not in raw, f"{path}: a CR (line ends must be LF only)"
    assert raw.endswith(b"\n"), f"{path}: the last line has no LF"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    head, body = rows[0], rows[1:]
    assert body, f"{path}: no rows"
    text = TEXT[kind]
    numeric = [i for i, c in enumerate(head) if c not in text and not c.endswith(".note")]
    n_num = n_empty = 0
    for ln, r in enumerate(body, 2):
        assert len(r) == len(head), f"{path}:{ln}: {len(r)} fields, header has {len(head)}"
        for i in numeric:
            v = r[i]
            if v == "":
                n_empty += 1
                continue
            assert NUM.match(v) and math.isfinite(float(v)), \
                f"{path}:{ln}: column {head[i]} holds {v!r}, not a number"
            n_num += 1
        row = dict(zip(head, r))
        for c in head:
            if c.endswith(".note") and row[c]:
                m = c[:-5]
                assert row[m] == "", f"{path}:{ln}: {m} has a value and a note"
                assert row[c].startswith("unavailable"), f"{path}:{ln}: {c} = {row[c]!r}"
        if kind == "compare":
            for side in ("a", "b"):
                note = row[side + "_note"]
                assert not note or (row[side] == "" and note.startswith("unavailable")), \
                    f"{path}:{ln}: {side} = {row[side]!r} with note {note!r}"
    print(f"{path}: {len(body)} rows, {len(numeric)} numeric columns, {n_num} numbers, "
          f"{n_empty} empty")
    return head, body

kind, path = sys.argv[1], sys.argv[2]
head, body = check(kind, path)
if kind == "report":
    notes = [c for c in head if c.endswith(".note")]
    assert notes, "no .note column although the fixture has unavailable figures"
    assert any(r[head.index("goodput.note")] for r in body), "goodput's reason"
if kind == "compare":
    i, a = head.index("a_note"), head.index("a")
    assert any(r[i] and r[a] == "" for r in body), "an unavailable figure with its reason"
EOF

test_expect_success 'the fixture store (make unit)' '
	"$FIXTURE" --make-db "$TMP/f.db" --variant both >/dev/null
'
test_expect_success 'report.csv: numbers or empty, reasons in <metric>.note, LF' '
	"$LLMBENCH" report --db "$TMP/f.db" --run golden-a --run golden-b --out rep --format csv >/dev/null &&
	python3 check.py report rep/report.csv
'
test_expect_success 'compare --format csv: numbers or empty, reasons in a_note/b_note, LF' '
	"$LLMBENCH" compare --db "$TMP/f.db" golden-a golden-b --format csv --out cmp.csv &&
	python3 check.py compare cmp.csv
'
test_expect_success 'export --format csv: numbers or empty, LF, also with CR in a stored error' '
	cp "$TMP/f.db" e.db &&
	sqlite3 e.db "UPDATE requests SET error = '"'"'line one'"'"' || char(13, 10) || '"'"'line two'"'"' || char(13) || '"'"'three'"'"'
		WHERE id = (SELECT MIN(id) FROM requests)" &&
	"$LLMBENCH" export --db e.db --run golden-a --format csv >req.csv &&
	python3 check.py export req.csv &&
	python3 - req.csv <<-"PY"
	import csv, sys
	rows = list(csv.DictReader(open(sys.argv[1], newline="")))
	assert any(r["error"] == "line one\nline two\nthree" for r in rows), "CRLF and CR become LF"
	PY
'

# a live run: unavailable figures (no SLO, no power source here) and failed requests
start_sim PORT --ttft-ms 2 --itl-ms 1 --output-tokens 4 --fault http_500:0.3 || exit 1
cat >"$TMP/w.json" <<EOF
{"name": "typed", "backends": [{"name": "sim", "type": "openai",
  "base_url": "http://127.0.0.1:$PORT/v1", "model": "m", "api": "completions"}],
 "dataset": {"path": "$LB_TOP/datasets/prompts/llm-questions.txt", "limit": 8},
 "generation": {"max_tokens": 4}, "load": {"levels": [1, 2], "requests": 6, "repeat": 2},
 "power": {"sources": "none"}}
EOF
test_expect_success 'a live run with failures: report, compare and export CSVs are typed' '
	"$LLMBENCH" run w.json --db l.db --no-progress --name a >/dev/null 2>&1;
	"$LLMBENCH" run w.json --db l.db --no-progress --name b >/dev/null 2>&1;
	test "$(sqlite3 l.db "SELECT COUNT(*) FROM requests WHERE status <> '"'"'ok'"'"'")" -gt 0 &&
	"$LLMBENCH" report --db l.db --run a --run b --out lrep --format csv >/dev/null &&
	python3 check.py report lrep/report.csv &&
	"$LLMBENCH" compare --db l.db a b --format csv --out lcmp.csv && python3 check.py compare lcmp.csv &&
	"$LLMBENCH" export --db l.db --run a --format csv >lreq.csv && python3 check.py export lreq.csv
'
test_done
