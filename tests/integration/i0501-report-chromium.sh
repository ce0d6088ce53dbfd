#!/usr/bin/env bash
# The HTML report in headless Chromium (Debian's `chromium`, installed by `make deps`): the page
# loads from file:// with no console error, and a screenshot is taken. Installs nothing.
. "$(dirname "$0")/../lib.sh"

FIXTURE=$LB_TOP/${LB_BUILD:-build}/tests/test_report
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}

test_expect_success "chromium is installed (make deps installs Debian's chromium)" '
	test -n "$CHROMIUM"
'
test_expect_success "report of the fixture store" '
	"$FIXTURE" --make-db "$TMP/f.db" --variant a &&
	"$LLMBENCH" report --db "$TMP/f.db" --out "$TMP/r" >/dev/null
'
chrome() {
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage \
		--user-data-dir="$TMP/chr" --enable-logging=stderr --v=0 "$@"
}
test_expect_success "screenshot of the page, no console error" '
	chrome --screenshot="$TMP/shot.png" --window-size=1280,2000 "file://$TMP/r/index.html" \
		2>"$TMP/chr.log" >/dev/null
	test -s "$TMP/shot.png" || { tail -n 20 "$TMP/chr.log"; exit 1; }
	if grep -E "CONSOLE|Uncaught|Failed to load resource" "$TMP/chr.log"; then exit 1; fi
	# LB_SHOT_DIR=DIR keeps the screenshot for a person to look at
	if [ -n "${LB_SHOT_DIR:-}" ]; then cp "$TMP/shot.png" "$LB_SHOT_DIR/report-fixture.png"; fi
'
test_expect_success "the DOM has the headline, the decision view, tables, inline plots and notes" '
	chrome --dump-dom "file://$TMP/r/index.html" 2>"$TMP/dom.log" >"$TMP/dom.html"
	test "$(grep -c "<svg" "$TMP/dom.html")" -eq 11 &&
	grep -q "id=\"headline\"" "$TMP/dom.html" && grep -q "id=\"decision\"" "$TMP/dom.html" &&
	grep -q "id=\"plot-pareto\"" "$TMP/dom.html" && grep -q "class=\"num best\"" "$TMP/dom.html" &&
	grep -q "id=\"provenance\"" "$TMP/dom.html" && grep -q "id=\"note-1\"" "$TMP/dom.html" &&
	! grep -E "CONSOLE|Uncaught" "$TMP/dom.log"
'
test_expect_success "a 3 x 3 family x quantization matrix: the decision view in the browser" '
	"$FIXTURE" --make-db "$TMP/m.db" --variant matrix &&
	"$LLMBENCH" report --db "$TMP/m.db" --out "$TMP/m" >/dev/null 2>&1 &&
	chrome --screenshot="$TMP/shot-m.png" --window-size=1280,1400 "file://$TMP/m/index.html" \
		2>"$TMP/chr-m.log" >/dev/null
	test -s "$TMP/shot-m.png" || { tail -n 20 "$TMP/chr-m.log"; exit 1; }
	if grep -E "CONSOLE|Uncaught|Failed to load resource" "$TMP/chr-m.log"; then exit 1; fi
	if [ -n "${LB_SHOT_DIR:-}" ]; then cp "$TMP/shot-m.png" "$LB_SHOT_DIR/report-matrix.png"; fi
	chrome --dump-dom "file://$TMP/m/index.html" 2>/dev/null >"$TMP/m.html" &&
	test "$(grep -o "<tr class=\"\(front\|dominated\)\">" "$TMP/m.html" | wc -l)" -eq 9 &&
	grep -q "<tr class=\"dominated\"><td>falcon</td><td>F16</td>" "$TMP/m.html" &&
	test "$(grep -c "is the smallest quantization within KLD" "$TMP/m.html")" -eq 3 &&
	grep -q "id=\"plot-pareto\"" "$TMP/m.html"
'
test_done
