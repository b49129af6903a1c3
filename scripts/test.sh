#!/usr/bin/env bash
# Runs every test: unit tests, the end-to-end suite (which builds the real
# Caddy binary and starts it with the example app) and the build tool's
# tests. It installs the Debian packages the tests need when they are
# missing and it runs as root.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

missing=()
command -v oathtool >/dev/null || missing+=(oathtool)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "Installing ${missing[*]}..."
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	else
		echo "The tests need: ${missing[*]}. Install them (Debian: sudo apt-get install ${missing[*]})." >&2
		exit 1
	fi
fi

go vet ./...
go test -count=1 ./...
go -C tools/xcaddybuild test -count=1 ./...
