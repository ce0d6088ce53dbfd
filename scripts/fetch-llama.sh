#!/usr/bin/env bash
# Fetch the pinned llama.cpp from npm (DESIGN.md): prebuilt CPU libraries and the matching
# source bundle; check each tarball against the integrity hash pinned here (the one npm records);
# extract headers and vocabulary GGUFs. Idempotent: does nothing when third_party/llama is ready.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dst="$top/third_party"
stamp="$dst/llama/.ready"
[ -f "$stamp" ] && exit 0

BIN_PKG="@node-llama-cpp/linux-x64@3.22.1"
BIN_SHA512="5uCCDNqWCNfaAm8aR/Uzxbo4HBpKgNF91kCHPepKhgMgV2OAmatoefbOlMihsqCiH2Od35E/eUHQCFbfRBJuOg=="
SRC_PKG="node-llama-cpp@3.22.1"
SRC_SHA512="bltIipuWmc123H7tMIgDGKSsSrhmhlQYeVUC48XTjVW7XGJJiJJyCdlTMzQ/LiWoPkGDpcL4FviDpgw7qfTiDw=="

command -v npm >/dev/null || { echo "fetch-llama: npm not found; install nodejs/npm or build with LLAMA_PREFIX=/path" >&2; exit 1; }
mkdir -p "$dst/npm"
cd "$dst/npm"

fetch() { # pkg expected-sha512
	local pkg=$1 want=$2 tgz got
	tgz=$(npm pack --silent "$pkg" 2>/dev/null | tail -n 1)
	[ -f "$tgz" ] || { echo "fetch-llama: npm pack $pkg failed" >&2; exit 1; }
	got=$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)
	if [ "$got" != "$want" ]; then
		echo "fetch-llama: integrity mismatch for $pkg: got sha512-$got, want sha512-$want" >&2
		rm -f "$tgz"; exit 1
	fi
	echo "$tgz"
}

bin_tgz=$(fetch "$BIN_PKG" "$BIN_SHA512")
src_tgz=$(fetch "$SRC_PKG" "$SRC_SHA512")

rm -rf "$dst/llama" "$dst/npm/bin" "$dst/npm/src"
mkdir -p "$dst/npm/bin" "$dst/npm/src" "$dst/llama/lib" "$dst/llama/include" "$dst/llama/models"
tar -xzf "$bin_tgz" -C "$dst/npm/bin"
tar -xzf "$src_tgz" -C "$dst/npm/src" package/llama/gitRelease.bundle
cp -a "$dst/npm/bin/package/bins/linux-x64/." "$dst/llama/lib/"
rm -rf "$dst/llama-src"
git clone -q "$dst/npm/src/package/llama/gitRelease.bundle" "$dst/llama-src"
cp "$dst/llama-src/include/"*.h "$dst/llama/include/"
cp "$dst/llama-src/ggml/include/"*.h "$dst/llama/include/"
cp "$dst/llama-src/models/"ggml-vocab-*.gguf "$dst/llama/models/"
touch "$stamp"
echo "fetch-llama: llama.cpp ready in third_party/llama (lib, include, models)"
