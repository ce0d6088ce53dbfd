#!/usr/bin/env bash
# Every figure the reports know (reports/fields.c) is named in docs/METRICS.md "Stored names",
# so that a user reading a store or writing a gate rule finds what each name means.
. "$(dirname "$0")/../lib.sh"

test_expect_success 'docs/METRICS.md "Stored names" covers every name of reports/fields.c' '
	python3 - "$LB_TOP/reports/fields.c" "$LB_TOP/docs/METRICS.md" <<-PY
	import re, sys
	src = open(sys.argv[1]).read()
	doc = open(sys.argv[2]).read().split("## Stored names", 1)
	assert len(doc) == 2, "no Stored names section"
	table = doc[1]
	names = set(re.findall(r"\bM\(\"([a-z0-9_]+)\"", src))
	stats = ["mean", "sd", "min", "p50", "p90", "p95", "p99", "p999", "max"]
	for fam in re.findall(r"^\s*LAT\((\w+),", src, re.M):
	    names |= {"%s_%s_ms" % (fam, s) for s in stats}
	for x, q in re.findall(r"^\s*SRVCMP\((\w+), \"\w+\", (\w+)\)", src, re.M):
	    names |= {"srvcmp_%s_%s_%s_ms" % (x, q, k) for k in ("client", "server", "diff")}
	assert len(names) > 60, len(names)
	def covered(n):
	    if re.search(r"\`[^\`]*\b%s\b" % re.escape(n), table):
	        return True
	    m = re.fullmatch(r"(\w+?)_(mean|sd|min|p50|p90|p95|p99|p999|max)_ms", n)
	    if m and ("\`%s_{" % m.group(1)) in table:
	        return True
	    m = re.fullmatch(r"srvcmp_(ttft|itl)_(p50|p99)_(client|server|diff)_ms", n)
	    return bool(m) and "srvcmp_{ttft,itl}_{p50,p99}_{client,server,diff}_ms" in table
	missing = sorted(n for n in names if not covered(n))
	assert not missing, "not in docs/METRICS.md Stored names: %s" % missing
	PY
'
test_done
