#!/usr/bin/env bash
# `make install PREFIX=...` installs a copy that works without the tree it was built in: the
# tree is copied (tracked files, llama.cpp linked in), built and installed to a temporary prefix,
# the copy is removed, and the installed llmbench loads libllama (runpath $ORIGIN/../lib/llmbench),
# finds the shipped datasets and workloads (share/llmbench) from any working directory, runs a
# workload and the demo; `make uninstall` removes what install put there.
. "$(dirname "$0")/../lib.sh"

SRC=$TMP/src
PREFIX=$TMP/prefix
test_expect_success 'copy the tree (tracked files) and build it' '
	mkdir -p "$SRC" && (cd "$LB_TOP" && git ls-files -z | xargs -0 cp --parents -t "$SRC") &&
	ln -s "$(readlink -f "$LB_TOP/third_party")" "$SRC/third_party" &&
	make -C "$SRC" -j2 all >build.log 2>&1 || { tail -20 build.log; false; }
'
test_expect_success 'make install PREFIX=...' '
	make -C "$SRC" install PREFIX="$PREFIX" >install.log 2>&1 && test -x "$PREFIX/bin/llmbench" &&
	test -d "$PREFIX/share/llmbench/datasets" && test -s "$PREFIX/share/llmbench/workloads/smoke.json" &&
	test -s "$PREFIX/share/llmbench/docs/cli/bench.md" &&
	readelf -d "$PREFIX/bin/llmbench" | grep -q "RUNPATH.*\[\$ORIGIN/../lib/llmbench\]"
'
test_expect_success 'the build tree is removed' 'rm -rf "$SRC" && test ! -e "$SRC"'
L=$PREFIX/bin/llmbench
mkdir -p "$TMP/elsewhere"
cd "$TMP/elsewhere" || exit 1
test_expect_success 'the installed llmbench runs: --version, an in-process model' '
	"$L" --version && "$L" model make --arch llama --out tiny.gguf --seed 3 >/dev/null
'
start_sim PORT --ttft-ms 5 --itl-ms 1 --output-tokens 4 || exit 1
test_expect_success 'a shipped workload with its shipped dataset, from another folder' '
	"$L" run "$PREFIX/share/llmbench/workloads/smoke.json" --no-progress \
		--set backends.0.base_url=http://127.0.0.1:$PORT/v1 --set load.requests=4 >out 2>&1
	rc=$?; cat out; [ $rc -eq 0 ] && grep -q "8 requests ok, 0 failed" out
'
test_expect_success 'bench --dataset-name lines finds the shipped prompts (share/llmbench)' '
	"$L" bench --port "$PORT" --model m --num-prompts 4 --dataset-name lines >out 2>&1
	rc=$?; tail -1 out; [ $rc -eq 0 ] && grep -q "4 requests ok, 0 failed" out
'
test_expect_success 'the demo runs from the installed copy' '
	LLMBENCH="$L" timeout 2400 bash "$PREFIX/share/llmbench/scripts/demo.sh" >demo.log 2>&1
	rc=$?; tail -5 demo.log; [ $rc -eq 0 ]
'
test_expect_success 'make uninstall removes it' '
	mkdir -p "$SRC" && (cd "$LB_TOP" && git ls-files -z Makefile | xargs -0 cp --parents -t "$SRC") &&
	make -C "$SRC" uninstall PREFIX="$PREFIX" >/dev/null 2>&1;
	test ! -e "$PREFIX/bin/llmbench" && test ! -e "$PREFIX/lib/llmbench" &&
	test ! -e "$PREFIX/share/llmbench"
'
test_done
