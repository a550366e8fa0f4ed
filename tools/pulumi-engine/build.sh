#!/usr/bin/env bash
# Builds the Pulumi engine offline from its Go module into a per-version cache (instant when cached).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../cache.sh"
version="$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" {print $2}' "$here/go.mod")"
cache="$(cache_dir "engine/$version")"

if [ -z "${ROLLBACK_FORCE_ENGINE_BUILD:-}" ] && command -v pulumi >/dev/null 2>&1; then
  echo "engine: using pulumi from PATH ($(command -v pulumi))"; exit 0
fi
if [ -x "$cache/bin/pulumi" ] && [ -x "$cache/bin/pulumi-resource-pulumi-python" ]; then
  echo "engine: cached build $cache/bin/pulumi"; exit 0
fi
cache_require go "no Pulumi engine: install the Pulumi CLI (pulumi.com/docs/install), or install Go >= 1.25 and run 'make engine'"
cache_begin "$cache"
mkdir -p "$CACHE_TMP/bin"
start=$(date +%s)
echo "engine: building pulumi $version from its Go module (cold build takes several minutes)..."
(cd "$here" && go build -trimpath \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
  -o "$CACHE_TMP/bin/pulumi" .)
# Dynamic providers: the engine starts this plugin; it runs our interpreter (set by rollback.engine).
cat > "$CACHE_TMP/bin/pulumi-resource-pulumi-python" <<'SH'
#!/bin/sh
exec "${PULUMI_ROLLBACK_PYTHON:-python3}" -u -m pulumi.dynamic "$@"
SH
chmod +x "$CACHE_TMP/bin/pulumi-resource-pulumi-python"
cache_commit "$cache"
echo "engine: built $cache/bin/pulumi in $(( $(date +%s) - start ))s"
