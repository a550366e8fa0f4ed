#!/usr/bin/env bash
# Builds golang-migrate's CLI (tags `postgres file`) from the pinned Go module into a per-version cache
# (instant when cached). It is the reference oracle the migration runner's tests compare against.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../cache.sh"
version="$(awk '$1 == "github.com/golang-migrate/migrate/v4" {print $2}' "$here/go.mod")"
cache="$(cache_dir "golang-migrate/$version")"

if [ -x "$cache/bin/migrate" ]; then
  [ "${1:-}" = --cached ] || echo "migrate-cli: cached build $cache/bin/migrate"
  exit 0
fi
[ "${1:-}" = --cached ] && exit 1  # --cached: only say (by the exit code) whether a build is needed
cache_require go "no golang-migrate CLI: install Go >= 1.25 and run 'make migrate-cli'"
cache_begin "$cache"
mkdir -p "$CACHE_TMP/bin"
start=$(date +%s)
echo "migrate-cli: building golang-migrate $version (tags: postgres file) from its Go module..."
(cd "$here" && CGO_ENABLED=0 go build -trimpath -tags 'postgres file' \
  -ldflags "-s -w -X main.Version=$version" \
  -o "$CACHE_TMP/bin/migrate" github.com/golang-migrate/migrate/v4/cmd/migrate)
cache_commit "$cache"
echo "migrate-cli: built $cache/bin/migrate in $(( $(date +%s) - start ))s"
