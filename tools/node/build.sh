#!/usr/bin/env bash
# Installs the pinned npm oracles (tools/node/package-lock.json) into a cache keyed by the lock file's hash
# (instant when cached): Vercel's official SDK for the stand-in's contract test, BullMQ for a real worker,
# drizzle-orm's node-postgres migrator (with pg) and the Supabase CLI's `migration list/up`.
# `--ignore-scripts` costs nothing: supabase ships no install script, its Go binary comes from the optional
# platform package npm picks (@supabase/cli-linux-x64 here), and node_modules/.bin/supabase is a node shim.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../cache.sh"
key="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-12)"
cache="$(cache_dir "node/$key")"

if [ -d "$cache/node_modules/@vercel/sdk" ] && [ -d "$cache/node_modules/bullmq" ] \
   && [ -d "$cache/node_modules/drizzle-orm" ] && [ -x "$cache/node_modules/.bin/supabase" ]; then
  [ "${1:-}" = --cached ] || echo "node-oracles: cached $cache"
  exit 0
fi
[ "${1:-}" = --cached ] && exit 1  # --cached: only say (by the exit code) whether a build is needed
cache_require npm "no npm: install Node.js >= 20 with npm (Debian: apt-get install nodejs npm) and run 'make node-oracles'"
cache_begin "$cache"
cp "$here/package.json" "$here/package-lock.json" "$CACHE_TMP/"
(cd "$CACHE_TMP" && npm ci --ignore-scripts --no-audit --no-fund -q)
if ! "$CACHE_TMP/node_modules/.bin/supabase" --version >/dev/null; then
  echo "error: node_modules/.bin/supabase does not run (no @supabase/cli-<platform> package for $(uname -sm)?)" >&2
  exit 1
fi
cache_commit "$cache"
echo "node-oracles: installed $cache"
