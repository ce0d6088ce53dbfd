#!/usr/bin/env bash
# make demo: the embedded default. Generates tiny LLaMA, Falcon and Mistral models (random
# weights, real vocabularies), runs workloads/demo.json in-process at F16, Q8_0 and Q4_0 with
# perplexity and KLD, stores everything in results/demo/demo.db, prints a summary table and
# writes the report. Under 5 minutes on 2 cores.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
LB=${LLMBENCH:-build/llmbench}
out=results/demo
db=$out/demo.db
t0=$(date +%s)
mkdir -p "$out/models"
if ! "$LB" model make --help >/dev/null 2>&1; then
	echo "demo: this llmbench has no in-process backend (llama.cpp not built in); run 'make deps' first" >&2
	exit 3
fi
for arch in llama falcon mistral; do
	f=$out/models/$arch-f16.gguf
	[ -f "$f" ] || "$LB" model make --arch "$arch" --out "$f" --seed 42 >/dev/null
done
echo "demo: models in $out/models (tiny, random weights: quality figures are synthetic)"
rm -f "$db" "$db-wal" "$db-shm"
"$LB" run workloads/demo.json --db "$db" --name demo --cache-dir "$out/cache"
if "$LB" report --help >/dev/null 2>&1; then
	"$LB" report --db "$db" --run demo --out "$out/report" >/dev/null
	echo "demo: report: $top/$out/report/index.html"
fi
echo "demo: database: $top/$db ($(($(date +%s) - t0)) s)"
echo "demo: try: $LB runs --db $db; $LB export --db $db --run demo --format csv | head"
