"""Where stripe/pg-schema-diff's CLI is: the pinned build `make schema-diff` caches (tools/pg-schema-diff/build.sh).

This layer must not import `rollback/`, so it resolves the cache like rollback.engine does, on its own.
"""

from __future__ import annotations

import os
from pathlib import Path

MODULE = "github.com/stripe/pg-schema-diff"
DEFAULT_VERSION = "v1.0.7"
GO_MOD = Path(__file__).resolve().parents[2] / "tools" / "pg-schema-diff" / "go.mod"
ENV_OVERRIDE = "ROLLBACK_PG_SCHEMA_DIFF"


class SchemaDiffMissing(RuntimeError):
    """The pg-schema-diff binary is not where it should be (not built, or a wrong override)."""


def pinned_version(go_mod: Path = GO_MOD) -> str:
    """The version tools/pg-schema-diff/go.mod requires (DEFAULT_VERSION when that file is not shipped)."""
    try:
        lines = go_mod.read_text().splitlines()
    except FileNotFoundError:
        return DEFAULT_VERSION
    for line in lines:
        parts = line.split()
        if parts[:1] == ["require"]:  # a one-line `require <module> <version>`
            parts = parts[1:]
        if parts[:1] == [MODULE] and len(parts) >= 2:
            return parts[1]
    return DEFAULT_VERSION


def pg_schema_diff() -> Path:
    """Path of the pg-schema-diff binary: $ROLLBACK_PG_SCHEMA_DIFF, else the cached build of the pinned version."""
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        return Path(override)
    cache = Path(os.environ.get("ROLLBACK_CACHE") or Path.home() / ".cache" / "rollback-as-code")
    return cache / "pg-schema-diff" / pinned_version() / "bin" / "pg-schema-diff"


def require_pg_schema_diff() -> Path:
    """pg_schema_diff(), or SchemaDiffMissing with the one command that builds it."""
    path = pg_schema_diff()
    if not (path.is_file() and os.access(path, os.X_OK)):
        source = f"${ENV_OVERRIDE}" if os.environ.get(ENV_OVERRIDE) else "the cache"
        raise SchemaDiffMissing(f"pg-schema-diff not found at {path} ({source}): run `make schema-diff` (needs Go)")
    return path
