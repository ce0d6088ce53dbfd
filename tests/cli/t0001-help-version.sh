#!/usr/bin/env bash
# Every verb has --help (exit 0, on stdout) and a page in docs/cli that names every option the
# help lists (so the two cannot drift apart); --version; bad verbs exit 2.
. "$(dirname "$0")/../lib.sh"

verbs=$("$LLMBENCH" --help | awk '/^verbs:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }')
test_expect_success 'the verb table is not empty and is sorted' '
	test -n "$verbs" && test "$verbs" = "$(echo "$verbs" | LC_ALL=C sort)"
'
for v in $verbs; do
	test_expect_success "$v --help exits 0 with a usage line" '
		"$LLMBENCH" '"$v"' --help >out && grep -qi "usage" out
	'
	test_expect_success "$v has docs/cli/$v.md" '
		test -s "$LB_TOP/docs/cli/'"$v"'.md"
	'
	test_expect_success "docs/cli/$v.md names every option of $v --help" '
		"$LLMBENCH" '"$v"' --help >out &&
		missing= &&
		for o in $(grep -oE -- "(^|[][ |(,])--[a-z][a-z0-9-]*" out | sed "s/^[][ |(,]//" | sort -u); do
			grep -q -- "$o" "$LB_TOP/docs/cli/'"$v"'.md" || missing="$missing $o"
		done &&
		{ test -z "$missing" || { echo "not in docs/cli/'"$v"'.md:$missing"; false; }; }
	'
done
test_expect_success '--version prints the version' '
	"$LLMBENCH" --version | grep -q "^llmbench "
'
test_expect_code 2 'an unknown verb exits 2' '"$LLMBENCH" frobnicate'
test_expect_code 2 'no verb exits 2' '"$LLMBENCH"'
test_expect_code 2 'an unknown global option exits 2' '"$LLMBENCH" --frob'
test_expect_success 'help VERB shows the verb help' '"$LLMBENCH" help run | grep -q "llmbench run"'
test_done
