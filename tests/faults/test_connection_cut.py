"""Scenario 1: the database connection cut before every statement the schema runner sends (pg_terminate_backend
from another session), and PostgreSQL stopped in the middle of a step: never dirty, never half-applied, re-runs
converge. Runs the provider directly against the local stack's real migration files (no engine needed)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from components.providers.base import StepFailed
from components.providers.schema import TABLE_DDL, SchemaVersionProvider
from components.providers.sql_units import split
from components.rollout import sha256_text
from sandbox import postgres
from tests.databases import admin_dsn, create_database, drop_database

pytestmark = pytest.mark.faults
MIGRATIONS = Path(__file__).resolve().parents[2] / "rollback_stacks" / "local" / "migrations"
FILES = {p.name: p.read_text() for p in sorted(MIGRATIONS.glob("*.sql"))}
CHECKSUMS = {name: sha256_text(text) for name, text in FILES.items()}
CUTS: list[dict[str, Any]] = []
WATCHER = "lock watch"  # components.providers.locks' watcher connection


def props(target: int) -> dict[str, Any]:
    return {"target_version": target, "sql": FILES, "checksums": CHECKSUMS, "allow_data_loss": True,
            "jobs_frozen_by": "ro-test@t"}


def schema_of(dsn: str, env: dict[str, str], password: str) -> str:
    """pg_dump --schema-only without schema_migrations' row and comment noise."""
    out = subprocess.run([f"{env['PG_BINDIR']}/pg_dump", "--schema-only", "--no-owner", "-d", dsn],
                         env={**env, "PGPASSWORD": password}, capture_output=True, text=True, check=True).stdout
    return "\n".join(line for line in out.splitlines() if not line.startswith(("--", "\\restrict", "\\unrestrict")))


@pytest.fixture(scope="module")
def reference(sandbox) -> Iterator[dict[int | None, str]]:
    """The schema dump at every version 0..5, reached cleanly."""
    env = sandbox.env()
    dumps: dict[int | None, str] = {}
    dsn = create_database(sandbox, "ref")
    try:
        with pytest.MonkeyPatch.context() as mp:
            for k, v in {**env, "DATABASE_URL": dsn}.items():
                mp.setenv(k, v)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, "
                             "dirty boolean NOT NULL)")
            dumps[None] = schema_of(dsn, env, sandbox.secrets["pg_password"])
            for v in range(1, 6):
                SchemaVersionProvider().create(props(v))
                dumps[v] = schema_of(dsn, env, sandbox.secrets["pg_password"])
        yield dumps
    finally:
        drop_database(sandbox, dsn)


class Cutter:
    """Wraps psycopg's Connection.execute: before the n-th statement of the runner, kill its backend."""

    def __init__(self, sandbox: Any, at: int | None, how: str = "terminate") -> None:
        self.sandbox, self.at, self.how, self.calls, self.statements = sandbox, at, how, 0, []

    def install(self, mp: pytest.MonkeyPatch) -> None:
        original = psycopg.Connection.execute
        cutter = self

        def execute(conn: psycopg.Connection, query: Any, *args: Any, **kwargs: Any) -> Any:
            if (conn.info.parameter_status("application_name") or "").endswith(WATCHER):
                return original(conn, query, *args, **kwargs)  # the lock budget's watcher polls on its own clock
            cutter.calls += 1
            cutter.statements.append(str(query)[:60])
            if cutter.calls == cutter.at:
                cutter.cut(conn.info.backend_pid)
            return original(conn, query, *args, **kwargs)

        mp.setattr(psycopg.Connection, "execute", execute)

    def cut(self, pid: int) -> None:
        if self.how == "terminate":
            with psycopg.connect(admin_dsn(self.sandbox), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        else:  # the server crashes (immediate stop: no shutdown checkpoint, crash recovery at start), then returns
            pg = self.sandbox.pg
            data, bins = str(pg["data"]), str(pg["bindir"])
            subprocess.run(postgres._as_server_user([f"{bins}/pg_ctl", "-D", data, "-m", "immediate", "-w",
                                                     "stop"]), check=True, capture_output=True)
            restart(self.sandbox)


def restart(sandbox: Any) -> None:
    """Start the session's server again on the same port and data dir, and wait until it accepts connections."""
    pg = sandbox.pg
    data, bins, root = str(pg["data"]), str(pg["bindir"]), Path(str(pg["data"])).parent
    opts = (f"-p {pg['port']} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root / 'sock'} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
    subprocess.run(postgres._as_server_user([f"{bins}/pg_ctl", "-D", data, "-l", str(root / "server.log"), "-o",
                                             opts, "-w", "-t", "60", "start"]), check=True, capture_output=True)
    with psycopg.connect(admin_dsn(sandbox), connect_timeout=10) as conn:
        conn.execute("SELECT 1")


def statement_count(sandbox: Any, source: int | None, target: int) -> int:
    """How many statements a clean run from source to target sends (the cut points)."""
    dsn = create_database(sandbox, "count")
    try:
        with pytest.MonkeyPatch.context() as mp:
            for k, v in {**sandbox.env(), "DATABASE_URL": dsn}.items():
                mp.setenv(k, v)
            if source:
                SchemaVersionProvider().create(props(source))
            counter = Cutter(sandbox, None)
            counter.install(mp)
            SchemaVersionProvider().create(props(target))
            return counter.calls
    finally:
        drop_database(sandbox, dsn)


def run_with_cut(sandbox: Any, reference: dict[int | None, str], source: int | None, target: int, at: int,
                 how: str = "terminate") -> dict[str, Any]:
    """From source, migrate to target with a cut before statement `at`; check; re-run; check convergence."""
    env = sandbox.env()
    dsn = create_database(sandbox, "cut")
    try:
        with pytest.MonkeyPatch.context() as mp:
            for k, v in {**env, "DATABASE_URL": dsn}.items():
                mp.setenv(k, v)
            if source:
                SchemaVersionProvider().create(props(source))
            cutter = Cutter(sandbox, at, how)
            with pytest.MonkeyPatch.context() as cut_mp:
                cutter.install(cut_mp)
                try:
                    SchemaVersionProvider().create(props(target))
                    error = None
                except StepFailed as err:
                    error = str(err)
            with psycopg.connect(dsn) as conn:
                conn.execute(TABLE_DDL)  # a cut before the runner's first statement leaves no table yet
                row = conn.execute("SELECT version, dirty FROM schema_migrations").fetchone()
            version, dirty = (row[0], row[1]) if row else (None, False)
            assert not dirty, f"schema_migrations left dirty after a cut before statement {at}: {error}"
            dump = schema_of(dsn, env, sandbox.secrets["pg_password"])
            assert dump == reference[version], f"schema half-applied: not the schema of version {version}"
            if error is not None:
                assert "schema migration failed" in error and ("connection" in error or "rolled back" in error
                                                               or "terminat" in error), error
            SchemaVersionProvider().create(props(target))  # the re-run
            with psycopg.connect(dsn) as conn:
                assert conn.execute("SELECT version, dirty FROM schema_migrations").fetchone() == (target, False)
            assert schema_of(dsn, env, sandbox.secrets["pg_password"]) == reference[target]
            return {"from": source, "to": target, "cut_before": at, "statement": cutter.statements[at - 1]
                    if len(cutter.statements) >= at else "?", "left_at": version, "error": (error or "")[:160]}
    finally:
        drop_database(sandbox, dsn)


@pytest.mark.parametrize(("source", "target"), [(None, 5), (5, 1)], ids=["up-0-to-5", "down-5-to-1"])
def test_connection_cut_before_every_statement(sandbox, reference, source, target):
    total = statement_count(sandbox, source, target)
    assert total >= 2 + abs(target - (source or 0))  # the prelude, then one query per file (with its version row)
    for at in range(1, total + 1):
        CUTS.append(run_with_cut(sandbox, reference, source, target, at))


def test_postgres_crash_inside_a_step_then_restart(sandbox, reference):
    """Immediate stop of the server while step 0003's transaction is open, restart on the same port: clean at 2."""
    total = statement_count(sandbox, None, 5)
    counter = Cutter(sandbox, None)
    dsn = create_database(sandbox, "probe")
    try:
        with pytest.MonkeyPatch.context() as mp:
            for k, v in {**sandbox.env(), "DATABASE_URL": dsn}.items():
                mp.setenv(k, v)
            counter.install(mp)
            SchemaVersionProvider().create(props(5))
    finally:
        drop_database(sandbox, dsn)
    (unit,) = split("0003", FILES["0003_notifications_idempotency.up.sql"])  # what the runner sends of it
    at = next(i for i, s in enumerate(counter.statements, 1) if s.startswith(unit.sql[:60]))
    assert at <= total
    outcome = run_with_cut(sandbox, reference, None, 5, at, how="crash")
    assert outcome["left_at"] == 2
    CUTS.append(outcome)
