#!/usr/bin/env bash
# Build llama-server and llama-perplexity from the pinned llama.cpp source (third_party/llama-src)
# into third_party/llama-build, once; reused afterwards. About 7 minutes on 2 cores.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
src="$top/third_party/llama-src"
bld="$top/third_party/llama-build"
if [ -x "$bld/bin/llama-server" ] && [ -x "$bld/bin/llama-perplexity" ]; then exit 0; fi
[ -d "$src" ] || bash "$top/scripts/fetch-llama.sh"
command -v cmake >/dev/null || { echo "build-llama-server: cmake not found (apt-get install cmake)" >&2; exit 1; }
jobs=$(nproc 2>/dev/null || echo 2)
echo "build-llama-server: configuring (third_party/llama-build; about 7 minutes on 2 cores)" >&2
cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
	-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF >"$bld.log" 2>&1 \
	|| { tail -n 30 "$bld.log" >&2; exit 1; }
cmake --build "$bld" -j "$jobs" --target llama-server llama-perplexity >>"$bld.log" 2>&1 \
	|| { tail -n 30 "$bld.log" >&2; exit 1; }
echo "build-llama-server: built $bld/bin/llama-server and llama-perplexity" >&2
