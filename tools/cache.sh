# Sourced by the build scripts: a per-version cache directory under ~/.cache/rollback-as-code, filled atomically
# (built in a temporary sibling, then moved into place), so an interrupted build never leaves a half cache.

cache_dir() {  # cache_dir <kind>/<key>: the cache path for one build
  echo "${ROLLBACK_CACHE:-$HOME/.cache/rollback-as-code}/$1"
}

cache_require() {  # cache_require <command> <message>: fail with message when command is missing
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "error: $2" >&2
    exit 1
  fi
}

cache_begin() {  # cache_begin <cache>: sets CACHE_TMP, removed on exit unless cache_commit ran
  mkdir -p "$(dirname "$1")"
  CACHE_TMP="$(mktemp -d "$1.build.XXXXXX")"
  trap 'rm -rf "$CACHE_TMP"' EXIT
}

cache_commit() {  # cache_commit <cache>: move the finished build into place
  rm -rf "$1" && mv "$CACHE_TMP" "$1" && trap - EXIT
}
