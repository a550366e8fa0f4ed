#!/usr/bin/env bash
# Builds the Pulumi engine and its Python language host offline from their Go modules into a cache keyed by the
# engine version and our sources (instant when cached).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../cache.sh"
version="$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" {print $2}' "$here/go.mod")"
key="$(cd "$here" && cat go.mod go.sum main.go langhost/main.go build.sh | sha256sum | cut -c1-12)"
cache="$(cache_dir "engine/$version-$key")"

if [ -z "${ROLLBACK_FORCE_ENGINE_BUILD:-}" ] && command -v pulumi >/dev/null 2>&1; then
  echo "engine: using pulumi from PATH ($(command -v pulumi))"; exit 0
fi
if [ -x "$cache/bin/pulumi" ] && [ -x "$cache/bin/pulumi-language-python" ]; then
  echo "engine: cached build $cache/bin/pulumi"; exit 0
fi
cache_require go "no Pulumi engine: install the Pulumi CLI (pulumi.com/docs/install), or install Go >= 1.25 and run 'make engine'"
cache_begin "$cache"
mkdir -p "$CACHE_TMP/bin"
start=$(date +%s)
echo "engine: building pulumi $version and its Python language host from their Go modules (cold: several minutes)..."
ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version"
(cd "$here" && go build -trimpath -ldflags "$ldflags" -o "$CACHE_TMP/bin/pulumi" . \
  && go build -trimpath -ldflags "$ldflags" -o "$CACHE_TMP/bin/pulumi-language-python" ./langhost)
# The Python SDK's own runner (started by the language host) and dynamic-provider launcher, as the official CLI
# ships them next to its binary; both come with the sdk/v3 module.
sdk="$(cd "$here" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$sdk/python/dist/pulumi-resource-pulumi-python" \
  "$CACHE_TMP/bin/"
cache_commit "$cache"
echo "engine: built $cache/bin/pulumi in $(( $(date +%s) - start ))s"
