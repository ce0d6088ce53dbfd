# tests/lib.sh: helpers for shell tests (after git's t/test-lib.sh). Source it, call the
# test_* functions, end with test_done, which prints "# passed N failed M".
set -u
LB_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LLMBENCH=${LLMBENCH:-$LB_TOP/build/llmbench}
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/llmbench-$TEST_NAME.XXXXXX")
_pass=0
_fail=0
_n=0
_cleanups=()

cleanup_add() { _cleanups+=("$1"); }
_cleanup() {
	local c
	for c in "${_cleanups[@]+"${_cleanups[@]}"}"; do eval "$c" >/dev/null 2>&1 || true; done
	[ -n "${LB_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap _cleanup EXIT

_ok() { _n=$((_n + 1)); _pass=$((_pass + 1)); echo "ok $_n - $1"; }
_notok() { _n=$((_n + 1)); _fail=$((_fail + 1)); echo "not ok $_n - $1"; }

# test_expect_success "description" 'shell code'
test_expect_success() {
	local out
	out=$(cd "$TMP" && eval "$2" 2>&1)
	if [ $? -eq 0 ]; then _ok "$1"; else _notok "$1"; echo "$out" | tail -n 30 | sed 's/^/    /'; fi
}

# test_expect_code CODE "description" 'shell code'
test_expect_code() {
	local out rc
	out=$(cd "$TMP" && eval "$3" 2>&1)
	rc=$?
	if [ $rc -eq "$1" ]; then _ok "$2"; else _notok "$2 (exit $rc, want $1)"; echo "$out" | tail -n 30 | sed 's/^/    /'; fi
}

test_skip() { echo "ok - # skip $1"; }

# Pick a free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
		|| echo $((20000 + RANDOM % 20000))
}

# Wait until something listens on 127.0.0.1:$1 (up to $2 seconds, default 10).
wait_port() {
	local i lim=$(( ${2:-10} * 10 ))
	for ((i = 0; i < lim; i++)); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Start `llmbench sim` on a free port in the background: start_sim VAR [sim options...]
# Sets VAR to the port; the sim is stopped at exit.
start_sim() {
	local var=$1 port pid
	shift
	port=$(free_port)
	"$LLMBENCH" sim --listen "127.0.0.1:$port" "$@" >"$TMP/sim-$port.out" 2>&1 &
	pid=$!
	cleanup_add "kill $pid; wait $pid"
	wait_port "$port" 10 || { echo "sim did not start:"; cat "$TMP/sim-$port.out"; return 1; }
	printf -v "$var" '%s' "$port"
}

# The real OpenAI server, built from the pinned llama.cpp source (make llama-server).
LLAMA_SERVER=$LB_TOP/third_party/llama-build/bin/llama-server

# 0 when GET /health on 127.0.0.1:$1 answers 200 (503 while the model loads); no curl needed.
llama_server_health() {
	local r
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" >&3
	r=$(timeout 1 cat <&3)
	exec 3<&-
	[[ $r == "HTTP/1."?" 200"* ]]
}

# Start llama-server on a free loopback port: start_llama_server VAR MODEL [server options...]
# Waits up to 60 s for /health to answer 200; sets VAR to the port and VAR_PID to the server's
# pid; the server is stopped at exit. On failure prints the log's tail and returns 1. Call it
# outside test_expect_success (the variables must reach the script), e.g.
#   start_llama_server PORT "$TMP/m.gguf" -c 2048 -np 4 >"$TMP/up" 2>&1; up=$?
start_llama_server() {
	local var=$1 model=$2 port pid end
	shift 2
	port=$(free_port)
	"$LLAMA_SERVER" -m "$model" --host 127.0.0.1 --port "$port" "$@" \
		>"$TMP/llama-server-$port.log" 2>&1 &
	pid=$!
	cleanup_add "kill $pid; wait $pid"
	printf -v "$var" '%s' "$port"
	printf -v "${var}_PID" '%s' "$pid"
	end=$((SECONDS + 60))
	while [ $SECONDS -lt $end ]; do
		llama_server_health "$port" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "llama-server on port $port is not healthy after 60 s (or exited):"
	tail -n 20 "$TMP/llama-server-$port.log"
	return 1
}

test_done() {
	echo "# passed $_pass failed $_fail"
	[ "$_fail" -eq 0 ]
}
