#!/usr/bin/env bash
# Installs the pinned npm oracles (tools/node/package-lock.json) into a cache keyed by the lock file's hash
# (instant when cached): Vercel's official SDK for the stand-in's contract test, BullMQ for a real worker.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../cache.sh"
key="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-12)"
cache="$(cache_dir "node/$key")"

if [ -d "$cache/node_modules/@vercel/sdk" ] && [ -d "$cache/node_modules/bullmq" ]; then
  echo "node-oracles: cached $cache"; exit 0
fi
cache_require npm "no npm: install Node.js >= 20 with npm (Debian: apt-get install nodejs npm) and run 'make node-oracles'"
cache_begin "$cache"
cp "$here/package.json" "$here/package-lock.json" "$CACHE_TMP/"
(cd "$CACHE_TMP" && npm ci --ignore-scripts --no-audit --no-fund -q)
cache_commit "$cache"
echo "node-oracles: installed $cache"
