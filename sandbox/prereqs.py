"""`python -m sandbox.prereqs`: one line per prerequisite, or one actionable line and exit 1."""

from __future__ import annotations

import shutil
import subprocess
import sys

from components.providers.schema_diff_bin import SchemaDiffMissing, pinned_version, require_pg_schema_diff
from rollback.engine import find_engine_dir, migrate_cli, node_oracles
from rollback.errors import RollbackError
from sandbox.postgres import bindir


def main() -> int:
    """Print the engine's `pulumi version` and the PostgreSQL server found; fail fast if missing."""
    try:
        engine = find_engine_dir() / "pulumi"
        pg = bindir()
        migrate = migrate_cli()
        if not migrate.is_file():
            raise RollbackError(f"golang-migrate's CLI (the tests' oracle) is not built in {migrate.parent}: "
                                "run `make migrate-cli` (needs Go)")
        try:
            schema_diff = require_pg_schema_diff()
        except SchemaDiffMissing as err:
            raise RollbackError(str(err)) from None
        oracles = node_oracles()
        wanted = ("@vercel/sdk", "bullmq", "drizzle-orm", "pg", ".bin/supabase")
        if not all((oracles / name).exists() for name in wanted):
            raise RollbackError(f"the npm oracles (@vercel/sdk, bullmq, drizzle-orm, pg, supabase) are not installed "
                                f"in {oracles}: run `make node-oracles` (needs Node.js >= 20 and npm)")
        redis = shutil.which("redis-server")
        if redis is None:
            raise RollbackError("no redis-server on PATH (the sandbox's Redis): apt-get install redis-server")
        if shutil.which("jq") is None:
            raise RollbackError("no jq on PATH (the preview workflow's comment step in its test): apt-get install jq")
    except RollbackError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    version = subprocess.run([str(engine), "version"], capture_output=True, text=True, check=False,
                             env={"PULUMI_SKIP_UPDATE_CHECK": "true", "PATH": "/usr/bin:/bin"}).stdout.strip()
    pg_version = subprocess.run([str(pg / "postgres"), "--version"], capture_output=True, text=True,
                                check=False).stdout.strip()
    print(f"pulumi version: {version} ({engine})")
    print(f"postgresql: {pg_version} ({pg})")
    print(f"golang-migrate: {migrate.parent.parent.name} ({migrate})")
    print(f"pg-schema-diff: {pinned_version()} ({schema_diff})")
    print(f"npm oracles: {oracles}")
    print(f"redis: {redis}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
