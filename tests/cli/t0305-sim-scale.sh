#!/usr/bin/env bash
# `llmbench sim` at scale, bounded: 2,400 concurrent streams (8 curl processes x 300 parallel
# transfers, curl's own cap) all complete with [DONE], and the send log shows at least 2,000 of
# them in progress at once. TTFT is long enough (4 s) that every stream is open before the first
# finishes. About 6 s.
. "$(dirname "$0")/../lib.sh"

N_PROC=8
PER=300
start_sim PORT --ttft-ms 4000 --itl-ms 100 --output-tokens 5 --log "$TMP/scale.log" || exit 1

test_expect_success "$((N_PROC * PER)) concurrent streams all complete" '
	mkdir -p o &&
	for p in $(seq $N_PROC); do
		for i in $(seq $PER); do
			printf "url = \"http://127.0.0.1:%s/v1/completions\"\n" "$PORT"
			printf "data = \"{\\\\\"prompt\\\\\": \\\\\"a b\\\\\", \\\\\"stream\\\\\": true}\"\n"
			printf "header = \"X-LLMBench-Request-Id: s%s-%s\"\n" "$p" "$i"
			printf "output = \"o/%s-%s\"\n" "$p" "$i"
		done >cfg$p
	done &&
	for p in $(seq $N_PROC); do
		curl -s --parallel --parallel-immediate --parallel-max $PER --max-time 25 -K cfg$p \
			-w "%{http_code}\n" >codes$p &
	done; wait &&
	cat codes* | sort | uniq -c &&
	test "$(cat codes* | grep -c "^200$")" = $((N_PROC * PER)) &&
	test "$(ls o | wc -l)" = $((N_PROC * PER)) &&
	test "$(grep -l "^data: \[DONE\]" o/* | wc -l)" = $((N_PROC * PER))
'
test_expect_success 'at least 2,000 of them were in progress at once (send log)' '
	sleep 0.3 &&
	awk "\$3 == \"recv\" { print \$1, 1 } \$3 == \"done\" { print \$1, -1 }" scale.log | sort -n |
		awk "{ n += \$2; if (n > m) m = n } END { print \"peak in progress:\", m; exit !(m >= 2000) }" &&
	test "$(grep -c " done 5$" scale.log)" = $((N_PROC * PER))
'
test_done
