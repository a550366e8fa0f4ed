"""pg_dump safety snapshots (custom format) to S3 or a local dir, and restoring one with pg_restore."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import psycopg
import pulumi
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from pulumi.dynamic import ReadResult, Resource

from components import runtime_env
from components.providers import locks
from components.providers.base import StepProvider
from components.providers.retrying import Budget, s3_call

NICENESS = 10  # pg_dump compresses on the host it runs on, often the app's or its database's


class ToolFailed(RuntimeError):
    """pg_dump or pg_restore exited non-zero; the message ends with its stderr."""


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    """Run a PostgreSQL tool at a lower CPU priority: the app it runs next to keeps serving first."""
    nice = shutil.which("nice")
    argv = [nice, "-n", str(NICENESS), *argv] if nice else argv
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ToolFailed(f"{what} exited {proc.returncode}: {proc.stderr.strip()[-600:]}")


def dump(dsn: str, out: Path, guard: locks.Guard) -> None:
    """pg_dump -Fc of dsn's database into out (credentials via PG* variables, not argv), under the lock budget."""
    argv = [runtime_env.pg_tool("pg_dump"), "-Fc", "--no-owner", f"--lock-wait-timeout={guard.timeout_ms}ms",
            "-f", str(out)]
    guard.run("pg_dump (the safety snapshot)", lambda: _run(argv, guard.libpq_env(dsn), "pg_dump"),
              timed_out=guard.tool_timed_out)


def take_snapshot(destination: str, prefix: str, rollout: str, lock_props: dict[str, Any] | None = None,
                  budget: Budget | None = None) -> dict[str, Any]:
    """Dump DATABASE_URL and store it at destination ("s3" or "dir:/path"); returns reference, sha256, bytes, and
    the retries the upload needed. The upload is a PutObject of one key with the whole body: repeating it stores
    the same bytes again, so it is retried."""
    budget = budget or Budget()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    name = f"{prefix}/{stamp}-{rollout}.dump"
    with tempfile.TemporaryDirectory(prefix="rollback-snapshot-") as tmp, \
            locks.Guard(lock_props, "database snapshot") as guard:
        local = Path(tmp) / "db.dump"
        dump(runtime_env.database_url(), local, guard)
        data = local.read_bytes()
        if destination == "s3":
            bucket = runtime_env.snapshot_bucket()
            s3 = runtime_env.s3_client()
            s3_call(budget, f"PUT s3://{bucket}/{name}", lambda: s3.put_object(Bucket=bucket, Key=name, Body=data))
            reference = f"s3://{bucket}/{name}"
        elif destination.startswith("dir:"):
            target = Path(destination[4:]) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            reference = f"file://{target}"
        else:
            raise ValueError(f"unknown snapshot destination {destination!r} (want 's3' or 'dir:/path')")
    return {"reference": reference, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "taken_at": stamp, "lock_waits": guard.outputs(), "retries": budget.report()}


def snapshot_exists(reference: str, budget: Budget | None = None) -> bool:
    """Whether the snapshot at reference (s3:// or file://) is still there."""
    url = urlparse(reference)
    if url.scheme == "file":
        return Path(url.path).is_file()
    s3 = runtime_env.s3_client()
    try:
        s3_call(budget or Budget(), f"HEAD {reference}",
                lambda: s3.head_object(Bucket=url.netloc, Key=url.path.lstrip("/")))
    except Exception:  # botocore raises ClientError(404) for a missing key
        return False
    return True


def fetch(reference: str, out: Path, budget: Budget | None = None) -> None:
    """Copy the snapshot at reference to a local file (a read: retried, body included, within the budget)."""
    url = urlparse(reference)
    if url.scheme == "file":
        out.write_bytes(Path(url.path).read_bytes())
    elif url.scheme == "s3":
        s3 = runtime_env.s3_client()
        out.write_bytes(s3_call(budget or Budget(), f"GET {reference}", lambda: s3.get_object(
            Bucket=url.netloc, Key=url.path.lstrip("/"))["Body"].read()))
    else:
        raise ValueError(f"unsupported snapshot reference {reference!r}")


def restore_jobs() -> int:
    """Parallel pg_restore jobs: one per CPU, at most 8 (the custom format restores tables and indexes in parallel)."""
    return max(1, min(8, os.cpu_count() or 1))


def restore_snapshot(reference: str, target_dsn: str, *, create: bool = False,
                     lock_props: dict[str, Any] | None = None) -> None:
    """pg_restore the snapshot into target_dsn's database (created first when create=True, else cleaned), under the
    lock budget: restoring over a database in use waits at most lock_timeout per statement, and a retry cleans and
    restores again."""
    if create:
        dbname = conninfo_to_dict(target_dsn)["dbname"]
        admin = target_dsn.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(dbname))))
    with tempfile.TemporaryDirectory(prefix="rollback-restore-") as tmp, \
            locks.Guard(lock_props, "database restore") as guard:
        local = Path(tmp) / "db.dump"
        fetch(reference, local)
        flags = ["--no-owner", "--exit-on-error", "-j", str(restore_jobs())]
        flags += [] if create else ["--clean", "--if-exists"]
        env = guard.libpq_env(target_dsn)
        guard.run("pg_restore", lambda: _run([runtime_env.pg_tool("pg_restore"), *flags, "-d", env["PGDATABASE"],
                                              str(local)], env, "pg_restore"), timed_out=guard.tool_timed_out)


class PgDumpSnapshotProvider(StepProvider):
    """Takes a snapshot whenever the database part of the target changes; snapshots are never deleted."""

    step = "database snapshot"
    keys = ("db_rollout", "destination", "prefix")

    def apply(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """pg_dump now; the reference becomes an output."""
        return {**news, **take_snapshot(news["destination"], news["prefix"], news["db_rollout"], news.get("locks"),
                                        Budget.of(news.get("retry_budget")))}

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: whether the snapshot still exists."""
        ref = props.get("reference")
        return ReadResult(id_, {**props, "exists": bool(ref) and snapshot_exists(str(ref))})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Snapshots outlive the stack (retention is the target record's job)."""


class PgDumpSnapshot(Resource, module="rollback", name="PgDumpSnapshot"):
    """A pg_dump snapshot taken before the database changes."""

    # Outputs, for the type checker only: Pulumi reads runtime class annotations and would convert values by them.
    if TYPE_CHECKING:
        reference: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        outs = {"reference": None, "sha256": None, "bytes": None, "taken_at": None, "lock_waits": None,
                "retries": None}
        super().__init__(PgDumpSnapshotProvider(), name, {**outs, **props}, opts)
