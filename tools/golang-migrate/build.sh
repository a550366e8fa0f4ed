#!/usr/bin/env bash
# Builds golang-migrate's CLI (tags `postgres file`) from the pinned Go module into a per-version cache
# (instant when cached). It is the reference oracle the migration runner's tests compare against.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(awk '$1 == "github.com/golang-migrate/migrate/v4" {print $2}' "$here/go.mod")"
cache="${ROLLBACK_CACHE:-$HOME/.cache/rollback-as-code}/golang-migrate/$version"

if [ -x "$cache/bin/migrate" ]; then
  echo "migrate-cli: cached build $cache/bin/migrate"; exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "error: no golang-migrate CLI: install Go >= 1.25 and run 'make migrate-cli'" >&2
  exit 1
fi

mkdir -p "$(dirname "$cache")"
tmp="$(mktemp -d "$cache.build.XXXXXX")"
mkdir -p "$tmp/bin"
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
echo "migrate-cli: building golang-migrate $version (tags: postgres file) from its Go module..."
(cd "$here" && CGO_ENABLED=0 go build -trimpath -tags 'postgres file' \
  -ldflags "-s -w -X main.Version=$version" \
  -o "$tmp/bin/migrate" github.com/golang-migrate/migrate/v4/cmd/migrate)
rm -rf "$cache" && mv "$tmp" "$cache" && trap - EXIT
echo "migrate-cli: built $cache/bin/migrate in $(( $(date +%s) - start ))s"
