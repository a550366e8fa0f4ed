#!/usr/bin/env bash
# Builds stripe/pg-schema-diff's CLI from the pinned Go module into a per-version cache (instant when cached).
# The product's provider code runs it (components/providers/schema_diff_bin.py) to plan schema changes.
# Not `go install ...@version`: the module proxy refuses that module's version list here; this module pins it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../cache.sh"
version="$(awk '$1 == "github.com/stripe/pg-schema-diff" {print $2}' "$here/go.mod")"
cache="$(cache_dir "pg-schema-diff/$version")"

if [ -x "$cache/bin/pg-schema-diff" ]; then
  [ "${1:-}" = --cached ] || echo "schema-diff: cached build $cache/bin/pg-schema-diff"
  exit 0
fi
[ "${1:-}" = --cached ] && exit 1  # --cached: only say (by the exit code) whether a build is needed
cache_require go "no pg-schema-diff CLI: install Go >= 1.25 and run 'make schema-diff'"
cache_begin "$cache"
mkdir -p "$CACHE_TMP/bin"
start=$(date +%s)
echo "schema-diff: building stripe/pg-schema-diff $version from its Go module..."
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
  -o "$CACHE_TMP/bin/pg-schema-diff" github.com/stripe/pg-schema-diff/cmd/pg-schema-diff)
cache_commit "$cache"
echo "schema-diff: built $cache/bin/pg-schema-diff in $(( $(date +%s) - start ))s"
