"""Scenario 4, migration runner vs psql: the same N golang-migrate files (default 200) through our runner
(components/providers/schema.py, in-process, no engine) and through one `psql -f … -f …` session; up, then down."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Row, median, parser, pg_env, private_sandbox, report, run, runs_of, timed

GOAL = 1.2


def migration_files(n: int, rows: int) -> dict[str, str]:
    """n up/down pairs: a table with rows rows and an index each; every 10th adds a column and a function."""
    files: dict[str, str] = {}
    for i in range(1, n + 1):
        up = [f"-- {i:04d}: table m_{i}",
              f"CREATE TABLE public.m_{i} (id bigint PRIMARY KEY, v text NOT NULL, at timestamptz DEFAULT now());",
              f"INSERT INTO public.m_{i} (id, v) SELECT g, md5(g::text) FROM generate_series(1, {rows}) g;",
              f"CREATE INDEX m_{i}_v_idx ON public.m_{i} (v);"]
        down = [f"DROP TABLE IF EXISTS public.m_{i};"]
        if i % 10 == 0:
            up += [f"ALTER TABLE public.m_{i - 1} ADD COLUMN extra integer NOT NULL DEFAULT {i};",
                   f"CREATE OR REPLACE FUNCTION public.f_{i}() RETURNS int LANGUAGE sql AS $$ SELECT {i} $$;"]
            down = [f"DROP FUNCTION IF EXISTS public.f_{i}();",
                    f"ALTER TABLE public.m_{i - 1} DROP COLUMN IF EXISTS extra;", *down]
        files[f"{i:04d}_step_{i}.up.sql"] = "\n".join(up) + "\n"
        files[f"{i:04d}_step_{i}.down.sql"] = "\n".join(down) + "\n"
    return files


def recreate(admin_dsn: str, name: str) -> None:
    """Drop and create database name (untimed reset)."""
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def ours(files: dict[str, str], target: int) -> dict[str, Any]:
    """Our runner's apply (lock, version, plan, checksums, data-loss pre-check, one transaction per file)."""
    from components.providers.schema import SchemaVersionProvider
    from components.rollout import sha256_text

    news = {"target_version": target, "sql": files, "checksums": {k: sha256_text(v) for k, v in files.items()},
            "allow_data_loss": True}
    return SchemaVersionProvider().apply(news, None)


def psql(bindir: str, dsn: str, paths: list[Path]) -> None:
    """One psql session running the files in order, stopping at the first error."""
    argv = [f"{bindir}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    for p in paths:
        argv += ["-f", str(p)]
    run(argv, env=pg_env(dsn))


def main(argv: list[str] | None = None) -> int:
    """Measure and report."""
    p = parser(__doc__ or "")
    p.add_argument("--files", type=int, default=200, help="migrations (up+down pairs)")
    p.add_argument("--rows", type=int, default=2000, help="rows each migration inserts")
    args = p.parse_args(argv)
    started, runs = time.perf_counter(), runs_of(args)
    import components.providers.schema  # noqa: F401  (imported before timing: start-up is scenario 3's business)

    n, rows_per = (5, 10) if args.smoke else (args.files, args.rows)
    files = migration_files(n, rows_per)
    ups = sorted(k for k in files if k.endswith(".up.sql"))
    downs = sorted((k for k in files if k.endswith(".down.sql")), reverse=True)
    samples: dict[str, list[float]] = {"ours_up": [], "psql_up": [], "ours_down": [], "psql_down": []}
    with private_sandbox("migrations") as sb, tempfile.TemporaryDirectory(prefix="rollback-bench-mig-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text)
        admin = sb.database_url.rsplit("/", 1)[0] + "/postgres"
        dsn = sb.database_url.rsplit("/", 1)[0] + "/bench_mig"
        os.environ["DATABASE_URL"] = dsn  # the runner reads its connection from the environment, as in the provider
        bindir = str(sb.pg["bindir"])
        for _ in range(runs):
            recreate(admin, "bench_mig")
            samples["ours_up"].append(timed(lambda: ours(files, n)))
            samples["ours_down"].append(timed(lambda: ours(files, 0)))
            recreate(admin, "bench_mig")
            samples["psql_up"].append(timed(lambda: psql(bindir, dsn, [Path(tmp) / f for f in ups])))
            samples["psql_down"].append(timed(lambda: psql(bindir, dsn, [Path(tmp) / f for f in downs])))
    rows = []
    for direction in ("up", "down"):
        o, b = median(samples[f"ours_{direction}"]), median(samples[f"psql_{direction}"])
        rows.append(Row("4 migrations", f"{n} files {direction}", o, b, runs, f"≤ {GOAL}×", o / b <= GOAL,
                        baseline="psql -X -v ON_ERROR_STOP=1 -f … (one session)",
                        samples={"ours": samples[f"ours_{direction}"], "baseline": samples[f"psql_{direction}"]}))
    notes = [f"each up file creates a table, inserts {rows_per} rows and builds an index; every 10th also alters "
             "the previous table and creates a function; down files drop them",
             "ours = SchemaVersionProvider.apply in-process (advisory lock, checksums, lock_timeout and the lock "
             "budget's blocker watch, each file and its schema_migrations row in one implicit transaction), "
             "alternated with psql on a fresh database; data loss is allowed (the down files drop non-empty tables), "
             "so the pre-check, which only refuses, does not run"]
    report("migrations", rows, args.out, smoke=args.smoke, params={"runs": runs, "files": n, "rows": rows_per},
           started=started, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
