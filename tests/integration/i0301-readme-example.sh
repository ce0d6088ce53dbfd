#!/usr/bin/env bash
# README's worked example against a real server runs as written. The commands are taken from
# README.md itself (the first ```sh block of "A worked example against a real server", with
# continuation lines joined), so the README cannot drift from what is tested. Only these are
# substituted, so that the test owns its port and files: port 8080 -> a free loopback port (in
# the commands and in a copy of workloads/llama-server.json), /tmp/ -> the test's folder,
# results.db and report/ -> inside that folder, ./build/llmbench -> $LLMBENCH. Every command
# runs from the top of the tree and must succeed; then the run, the export and the report are
# checked.
. "$(dirname "$0")/../lib.sh"

README=$LB_TOP/README.md
WORKLOAD=workloads/llama-server.json

# The example's commands, one per line (continuations joined, blank lines dropped).
awk '/^## A worked example against a real server/ { s = 1; next }
	s && /^## / { exit }
	s && !b && /^```sh$/ { b = 1; next }
	b && /^```$/ { exit }
	b { line = line $0; if (line ~ /\\$/) { sub(/\\$/, "", line); next }
	    gsub(/  +/, " ", line); if (line != "") print line; line = "" }' "$README" >"$TMP/cmds"

# What the example must keep doing, in this order (extended regular expressions).
cat >"$TMP/steps" <<'EOF'
^make llama-server$
^\./build/llmbench model make --arch llama --out /tmp/[^ ]+\.gguf$
^third_party/llama-build/bin/llama-server -m /tmp/[^ ]+\.gguf --host 127\.0\.0\.1 --port 8080 .*&$
curl .*http://127\.0\.0\.1:8080/health
^\./build/llmbench run workloads/llama-server\.json --db results\.db --name first$
^\./build/llmbench runs --db results\.db$
^\./build/llmbench export --db results\.db --run first --format csv
^\./build/llmbench report --db results\.db --run first --out report/
^kill %1$
EOF

test_expect_success 'README has the worked example, in its order' '
	cat cmds &&
	awk "NR == FNR { p[++n] = \$0; next }
		i < n && \$0 ~ p[i + 1] { i++ }
		END { if (i < n) { print \"missing or out of order: \" p[i + 1]; exit 1 } }" steps cmds
'

test_expect_success "$WORKLOAD points at 127.0.0.1:8080, as the README server listens" '
	grep -q "\"base_url\": \"http://127.0.0.1:8080/v1\"" "$LB_TOP/$WORKLOAD"
'

PORT=$(free_port)
sed "s|127\.0\.0\.1:8080|127.0.0.1:$PORT|g" "$LB_TOP/$WORKLOAD" >"$TMP/llama-server.json"
subst() { # a README command -> the command this test runs
	sed -e "s|/tmp/|$TMP/|g" -e "s|127\.0\.0\.1:8080|127.0.0.1:$PORT|g" \
		-e "s|--port 8080|--port $PORT|g" -e "s|$WORKLOAD|$TMP/llama-server.json|g" \
		-e "s|\\./build/llmbench|$LLMBENCH|g" -e "s|results\\.db|$TMP/results.db|g" \
		-e "s| report/| $TMP/report/|g"
}

cd "$LB_TOP" || exit 1
n=0
while IFS= read -r cmd; do
	n=$((n + 1))
	run=$(printf '%s\n' "$cmd" | subst)
	case $run in
	*'&')
		# the server: a job of this shell, so that the README's `kill %1` stops it
		eval "$run" >"$TMP/bg.out" 2>&1
		pid=$!
		cleanup_add "kill $pid; wait $pid"
		test_expect_success "step $n: $cmd" 'sleep 0.2; kill -0 '$pid' || { cat bg.out; false; }'
		;;
	'kill %'*)
		eval "$run"
		rc=$?
		test_expect_success "step $n: $cmd" '[ '$rc' -eq 0 ]'
		wait "$pid" 2>/dev/null
		;;
	*)
		printf '%s\n' "$run" >"$TMP/step$n.sh"
		test_expect_success "step $n: $cmd" '
			cd "$LB_TOP" && timeout 300 bash "$TMP/step'$n'.sh" >"$TMP/step'$n'.out" 2>&1
			rc=$?; tail -n 20 "$TMP/step'$n'.out"; [ $rc -eq 0 ]
		'
		;;
	esac
done <"$TMP/cmds"
cd "$TMP" || exit 1

test_expect_success 'the server was stopped by the example' '! kill -0 '"${pid:-0}"' 2>/dev/null'

q() { sqlite3 "$TMP/results.db" "$1"; }
test_expect_success 'run "first" is done, every request ok, with usage counts and server timings' '
	n=$(q "SELECT COUNT(*) FROM requests r JOIN runs u ON u.id = r.run_id WHERE u.name = '\''first'\''") &&
	echo "$n requests" && [ "$n" -gt 0 ] &&
	[ "$(q "SELECT status FROM runs WHERE name = '\''first'\''")" = done ] &&
	[ "$(q "SELECT COUNT(*) FROM requests WHERE status = '\''ok'\'' AND ttft_ms > 0
		AND output_tokens_source = '\''usage'\'' AND server_predicted_ms > 0")" = "$n" ]
'

test_expect_success 'runs lists it; export printed the CSV header and rows; report wrote index.html' '
	grep -E "^first +done" step*.out &&
	grep -q "^request_id,.*ttft_ms" step*.out &&
	[ "$(cat step*.out | grep -c "^[0-9]*,first,llama-server,")" -ge 5 ] &&
	test -s "$TMP/report/index.html"
'

test_done
