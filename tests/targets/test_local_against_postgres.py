"""`local`'s versions run against the sandbox's real PostgreSQL, with golang-migrate semantics (one transaction
per migration file, schema_migrations(version, dirty)), up through every release and back down."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

import rollback_stacks
from rollback_stacks import consistency
from rollback_stacks.model import Version

REC = rollback_stacks.load("local")


@pytest.fixture
def dsn(sandbox) -> Iterator[str]:
    """A fresh database for one test, dropped afterwards."""
    base, _ = sandbox.database_url.rsplit("/", 1)
    name = f"targets_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _file(number: int, direction: str) -> str:
    mdir = REC.file("migrations")
    (path,) = [p for name, p in consistency.migration_files(mdir).items()
               if name.startswith(f"{number:04d}_") and name.endswith(f".{direction}.sql")]
    return path.read_text()


def _current(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT version, dirty FROM schema_migrations").fetchone()
    assert row is not None and row[1] is False
    return row[0]


def migrate(conn: psycopg.Connection, target: int) -> None:
    """golang-migrate `goto target`: each file in its own transaction, then the version row."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL)")
    current = conn.execute("SELECT version FROM schema_migrations").fetchone()
    now = current[0] if current else 0
    steps = [(n, "up", n) for n in range(now + 1, target + 1)] + [(n, "down", n - 1) for n in range(now, target, -1)]
    for number, direction, after in steps:
        with conn.transaction():
            conn.execute(_file(number, direction))
            conn.execute("DELETE FROM schema_migrations")
            conn.execute("INSERT INTO schema_migrations (version, dirty) VALUES (%s, false)", (after,))


def apply_version(conn: psycopg.Connection, v: Version) -> None:
    """Schema to the version's, then its functions and trigger states, then its SQL health checks must pass."""
    assert v.database is not None
    migrate(conn, v.database.schema_version)
    with conn.transaction():
        for fn in v.database.functions.values():
            conn.execute(REC.file(fn.file).read_text())
        for name, trig in v.database.triggers.items():
            conn.execute(f"ALTER TABLE public.{trig.table} {'ENABLE' if trig.enabled else 'DISABLE'} TRIGGER {name}")
    applied = sorted(row[0] for row in conn.execute("SELECT version FROM schema_migrations"))
    assert applied == [v.database.schema_version]
    ups = [(int(n.split("_")[0]), rollback_stacks.sums.sha256_file(REC.file(f"migrations/{n}")))
           for n in sorted(v.database.migrations) if n.endswith(".up.sql")]
    assert rollback_stacks.fingerprint(ups) == v.database.schema_fingerprint
    for check in v.health.sql:
        value = conn.execute(check.query).fetchone()[0]
        assert (check.min is None or value >= check.min) and (check.max is None or value <= check.max), check.name


def _tables(conn: psycopg.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_releases_up_and_rollbacks_down(dsn: str) -> None:
    v130, v142, v150 = REC.versions
    user = uuid.uuid4()
    with psycopg.connect(dsn, autocommit=True) as conn:
        apply_version(conn, v130)
        assert {"worker_jobs", "dead_letter_queue", "notifications", "ai_consent", "feed_items", "earnings_events",
                "earnings_ledger", "rate_limit_configs"} <= _tables(conn)
        conn.execute("INSERT INTO earnings_events (user_id, amount_cents) VALUES (%s, 250), (%s, 100)", (user, user))
        assert conn.execute("SELECT total_earned_cents FROM earnings_ledger").fetchone()[0] == 350

        apply_version(conn, v142)
        send = "SELECT notif_send(%s, 'push', 'promo', 'hi', NULL, NULL, 'k1')"
        first, second = (conn.execute(send, (user,)).fetchone()[0] for _ in range(2))
        assert first == second and conn.execute("SELECT count(*) FROM notifications").fetchone()[0] == 1

        apply_version(conn, v150)
        job = conn.execute("INSERT INTO worker_jobs (kind, status, max_attempts) VALUES ('email', 'running', 2) "
                           "RETURNING id").fetchone()[0]
        conn.execute("SELECT worker_fail_job(%s, 'boom')", (job,))
        assert conn.execute("SELECT status, attempts FROM worker_jobs").fetchone() == ("pending", 1)
        conn.execute("SELECT worker_fail_job(%s, 'boom again')", (job,))
        assert conn.execute("SELECT status FROM worker_jobs").fetchone()[0] == "failed"
        assert conn.execute("SELECT count(*) FROM dead_letter_queue").fetchone()[0] == 1
        conn.execute("DELETE FROM dead_letter_queue")
        conn.execute("UPDATE ai_consent SET frequency_cap = 0")
        conn.execute("INSERT INTO ai_consent (user_id, frequency_cap) VALUES (%s, 1)", (user,))
        conn.execute("SELECT notif_send(%s, 'push', 'promo', 'over the cap')", (user,))
        assert conn.execute("SELECT pending_count FROM notification_digests").fetchone()[0] == 1

        apply_version(conn, v142)  # the demo's rollback: 0005 and 0004 down, v1.4.2's functions back
        assert "notification_digests" not in _tables(conn) and _current(conn) == 3
        conn.execute("SELECT worker_fail_job(%s, 'after rollback')", (job,))
        assert conn.execute("SELECT error FROM worker_jobs").fetchone()[0] == "after rollback"

        apply_version(conn, v130)
        migrate(conn, 0)
        assert _tables(conn) == {"schema_migrations"}
