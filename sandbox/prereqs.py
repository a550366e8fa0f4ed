"""`python -m sandbox.prereqs demo|test`: after the builds, one line per prerequisite the demo or the tests run on
(with its version), or every missing one in one message and exit 1.

`make demo` and `make test` run the machine check first (tools/prereqs.py: system packages and toolchains, before
anything slow), then the builds, then this report."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from components.providers.schema_diff_bin import SchemaDiffMissing, pinned_version, require_pg_schema_diff
from rollback.engine import REPO_ROOT, cache_root, find_engine_dir, go_mod_version
from rollback.errors import RollbackError
from sandbox.postgres import bindir


def migrate_cli() -> Path:
    """Where `make migrate-cli` puts golang-migrate's CLI (the tests' oracle) for its pinned version."""
    version = go_mod_version(REPO_ROOT / "tools" / "golang-migrate" / "go.mod", "github.com/golang-migrate/migrate/v4")
    return cache_root() / "golang-migrate" / version / "bin" / "migrate"


def node_oracles() -> Path:
    """Where `make node-oracles` installs the npm oracles (@vercel/sdk, bullmq, drizzle-orm, pg, supabase)."""
    here = REPO_ROOT / "tools" / "node"
    key = hashlib.sha256((here / "package.json").read_bytes() + (here / "package-lock.json").read_bytes())
    return cache_root() / "node" / key.hexdigest()[:12] / "node_modules"


def main(argv: list[str] | None = None) -> int:
    """Print what `make <target>` runs on (the engine's `pulumi version`, PostgreSQL, Redis; for the tests also
    golang-migrate, pg-schema-diff, the npm oracles and jq); exit 1 naming everything missing at once."""
    args = sys.argv[1:] if argv is None else argv
    target = args[0] if args else "test"
    if target not in ("demo", "test"):
        print("usage: python -m sandbox.prereqs demo|test", file=sys.stderr)
        return 2
    found: list[str] = []
    missing: list[str] = []

    def check(name: str, locate: Callable[[], str]) -> None:
        try:
            found.append(f"{name}: {locate()}")
        except RollbackError as err:
            missing.append(str(err))

    check("pulumi version", _engine)
    check("postgresql", _postgres)
    check("redis", lambda: _on_path("redis-server", "the sandbox's Redis"))
    if target == "test":
        check("golang-migrate", _migrate)
        check("pg-schema-diff", _schema_diff)
        check("npm oracles", _oracles)
        check("jq", lambda: _on_path("jq", "the preview workflow's comment step in its test"))
    if missing:
        head = f"error: `make {target}` cannot run: "
        print(head + missing[0] if len(missing) == 1 else
              head + f"{len(missing)} prerequisites missing:\n" + "\n".join(f"  - {m}" for m in missing),
              file=sys.stderr)
        return 1
    print("\n".join(found))
    return 0


def _engine() -> str:
    engine = find_engine_dir() / "pulumi"
    version = subprocess.run([str(engine), "version"], capture_output=True, text=True, check=False,
                             env={"PULUMI_SKIP_UPDATE_CHECK": "true", "PATH": "/usr/bin:/bin"}).stdout.strip()
    return f"{version} ({engine})"


def _postgres() -> str:
    pg = bindir()
    version = subprocess.run([str(pg / "postgres"), "--version"], capture_output=True, text=True,
                             check=False).stdout.strip()
    return f"{version} ({pg})"


def _on_path(command: str, what: str) -> str:
    found = shutil.which(command)
    if found is None:
        raise RollbackError(f"no {command} on PATH ({what}): apt-get install {command}")
    return found


def _migrate() -> str:
    migrate = migrate_cli()
    if not migrate.is_file():
        raise RollbackError(f"golang-migrate's CLI (the tests' oracle) is not built in {migrate.parent}: "
                            "run `make migrate-cli` (needs Go)")
    return f"{migrate.parent.parent.name} ({migrate})"


def _schema_diff() -> str:
    try:
        return f"{pinned_version()} ({require_pg_schema_diff()})"
    except SchemaDiffMissing as err:
        raise RollbackError(str(err)) from None


def _oracles() -> str:
    oracles = node_oracles()
    wanted = ("@vercel/sdk", "bullmq", "drizzle-orm", "pg", ".bin/supabase")
    if not all((oracles / name).exists() for name in wanted):
        raise RollbackError(f"the npm oracles (@vercel/sdk, bullmq, drizzle-orm, pg, supabase) are not installed "
                            f"in {oracles}: run `make node-oracles` (needs Node.js >= 20 and npm)")
    return str(oracles)


if __name__ == "__main__":
    sys.exit(main())
