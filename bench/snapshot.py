"""Scenario 5, snapshot vs pg_dump: our pgdump snapshot (components/providers/snapshot.py) vs raw `pg_dump -Fc` to
the same target (a local dir, and the S3 bucket), and our restore vs `createdb` + `pg_restore -j` (custom format
allows parallel restore from a file)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import data
from bench.common import Row, median, parser, pg_env, private_sandbox, report, run, runs_of, timed

GOAL = 1.1
BUCKET = "rollback-snapshots"


def raw_dump(bindir: str, dsn: str, out: Path) -> None:
    """pg_dump -Fc --no-owner of dsn's database into out."""
    run([f"{bindir}/pg_dump", "-Fc", "--no-owner", "-f", str(out)], env=pg_env(dsn))


def raw_dump_s3(bindir: str, dsn: str, tmp: Path, s3: Any, key: str) -> None:
    """pg_dump -Fc to a temp file, then one upload to the bucket (boto3's managed multipart upload)."""
    out = tmp / "raw-s3.dump"
    raw_dump(bindir, dsn, out)
    s3.upload_file(str(out), BUCKET, key)
    out.unlink()


def raw_restore(bindir: str, admin: str, dsn: str, dump: Path, jobs: int) -> None:
    """createdb + pg_restore -j jobs --no-owner --exit-on-error into the new database."""
    env = pg_env(dsn)
    run([f"{bindir}/createdb", env["PGDATABASE"]], env=pg_env(admin) | {"PGDATABASE": "postgres"})
    run([f"{bindir}/pg_restore", "-j", str(jobs), "--no-owner", "--exit-on-error", "-d", env["PGDATABASE"],
         str(dump)], env=env)


def main(argv: list[str] | None = None) -> int:
    """Measure and report."""
    p = parser(__doc__ or "")
    p.add_argument("--db-mb", type=int, default=128, help="size of the generated data (MB, with indexes)")
    args = p.parse_args(argv)
    started, runs = time.perf_counter(), runs_of(args)
    mb = 2 if args.smoke else args.db_mb
    from components.providers import snapshot as snap  # before timing (start-up is scenario 3's business)

    jobs = snap.restore_jobs()  # the baseline gets the same parallelism

    s: dict[str, list[float]] = {k: [] for k in ("ours_dir", "raw_dir", "ours_s3", "raw_s3", "ours_restore",
                                                  "raw_restore")}
    with private_sandbox("snapshot") as sb, tempfile.TemporaryDirectory(prefix="rollback-bench-snap-") as t:
        tmp = Path(t)
        os.environ.update(sb.env())  # the provider reads DATABASE_URL, AWS_* and the bucket from the environment
        base = sb.database_url.rsplit("/", 1)[0]
        admin, dsn, bindir = f"{base}/postgres", sb.database_url, str(sb.pg["bindir"])
        facts = data.fill(dsn, mb)
        s3 = snap.runtime_env.s3_client()
        dump_bytes, target = 0, f"{base}/bench_restore"
        for i in range(runs):
            for d in ("ours", "raw"):
                shutil.rmtree(tmp / d, ignore_errors=True)
                (tmp / d).mkdir()
            s["ours_dir"].append(timed(lambda k=i: snap.take_snapshot(f"dir:{tmp / 'ours'}", "snapshots", f"b{k}")))
            s["raw_dir"].append(timed(lambda: raw_dump(bindir, dsn, tmp / "raw" / "db.dump")))
            ref = f"file://{next((tmp / 'ours').rglob('*.dump'))}"
            dump_bytes = (tmp / "raw" / "db.dump").stat().st_size
            s["ours_s3"].append(timed(lambda k=i: snap.take_snapshot("s3", "snapshots", f"b{k}")))
            s["raw_s3"].append(timed(lambda k=i: raw_dump_s3(bindir, dsn, tmp, s3, f"raw/b{k}.dump")))
            for key in [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]:
                s3.delete_object(Bucket=BUCKET, Key=key)  # moto keeps objects in memory
            data.drop(admin, "bench_restore")
            s["ours_restore"].append(timed(lambda r=ref: snap.restore_snapshot(r, target, create=True)))
            data.drop(admin, "bench_restore")
            s["raw_restore"].append(timed(lambda: raw_restore(bindir, admin, target, tmp / "raw" / "db.dump", jobs)))
            data.drop(admin, "bench_restore")
    rows = []
    for case, ours, raw, baseline in (
            ("dump to a local dir", "ours_dir", "raw_dir", "pg_dump -Fc -f <dir>/db.dump"),
            ("dump to S3 (moto)", "ours_s3", "raw_s3", "pg_dump -Fc to a file + boto3 upload_file"),
            ("restore (new database)", "ours_restore", "raw_restore", f"createdb + pg_restore -j {jobs}")):
        o, b = median(s[ours]), median(s[raw])
        rows.append(Row("5 snapshot", case, o, b, runs, f"≤ {GOAL}×", o / b <= GOAL, baseline=baseline,
                        samples={"ours": s[ours], "baseline": s[raw]}))
    notes = [f"database: {facts['database_bytes'] / 2**20:.0f} MiB ({facts['tables']} bench_events tables, "
             f"{facts['rows']} rows, PK + one index each); dump {dump_bytes / 2**20:.0f} MiB (-Fc, default "
             "compression)",
             "ours restore = restore_snapshot(file://…, create=True): CREATE DATABASE, copy the dump to a temp file, "
             "pg_restore"]
    report("snapshot", rows, args.out, smoke=args.smoke, params={"runs": runs, "db_mb": mb, "jobs": jobs, **facts,
                                                                 "dump_bytes": dump_bytes}, started=started,
           notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
