#!/usr/bin/env bash
# Install the Debian packages llmbench needs (as root with apt-get; otherwise print the command)
# and fetch the pinned llama.cpp from npm. Fast when everything is already there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
pkgs=(libcurl4-openssl-dev libcjson-dev libsqlite3-dev libpcre2-dev gnuplot-nox libcmocka-dev
      pkg-config cmake clang clang-format libclang-rt-14-dev sqlite3 chromium git openssl jq curl python3 nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
	case $p in
	nodejs|npm|python3) command -v "$p" >/dev/null 2>&1 && continue ;;
	esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "deps: installing ${missing[*]}" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >/dev/null || true
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	else
		echo "deps: missing packages; run: sudo apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
fi
bash "$top/scripts/fetch-llama.sh"
