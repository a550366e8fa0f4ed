#!/usr/bin/env bash
# Installs the pinned npm oracles (tools/node/package-lock.json) into a cache keyed by the lock file's hash
# (instant when cached): Vercel's official SDK for the stand-in's contract test, BullMQ for a real worker.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
key="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-12)"
cache="${ROLLBACK_CACHE:-$HOME/.cache/rollback-as-code}/node/$key"

if [ -d "$cache/node_modules/@vercel/sdk" ] && [ -d "$cache/node_modules/bullmq" ]; then
  echo "node-oracles: cached $cache"; exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "error: no npm: install Node.js >= 20 with npm (Debian: apt-get install nodejs npm) and run 'make node-oracles'" >&2
  exit 1
fi
mkdir -p "$(dirname "$cache")"
tmp="$(mktemp -d "$cache.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$tmp/"
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund -q)
rm -rf "$cache" && mv "$tmp" "$cache" && trap - EXIT
echo "node-oracles: installed $cache"
