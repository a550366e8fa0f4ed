"""Kept values live as long as the version they came from: `targets prune` drops the sets of the versions it prunes
(DATABASE_URL set) and says they stay otherwise; rollback.kept counts what waits, as `rollback status` shows it."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

from components.providers import keep
from rollback import kept
from tests.components.conftest import db  # noqa: F401  (a fresh database as DATABASE_URL)


def keep_from(dsn: str, label: str, table: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, gone text)")
        conn.execute(f"INSERT INTO {table} VALUES (1, 'a'), (2, 'b')")
        with conn.transaction():
            assert keep.keep(conn, "9.down.sql", f"ALTER TABLE {table} DROP COLUMN gone", 9, keep.Tags("r", label))
            conn.execute(f"ALTER TABLE {table} DROP COLUMN gone")


def test_prune_drops_the_kept_sets_of_pruned_versions_only(db: str, root: Path, cli, monkeypatch) -> None:  # noqa: F811
    keep_from(db, "v1.3.0", "old_things")
    keep_from(db, "v1.4.2", "new_things")
    assert kept.counts(os.environ) == {"waiting": 2, "waiting_rows": 4, "restored": 0, "not_restored": 0,
                                       "by_version": {"v1.3.0": 1, "v1.4.2": 1}}
    dry = cli("targets", "prune", "local", "--retain", "1", "--deployed", "v1.4.2", "--dry-run", "--root", str(root))
    assert dry.code == 0 and "would prune 1 version(s)" in dry.out and "would prune 1 kept value set(s)" in dry.out
    assert kept.counts(os.environ)["waiting"] == 2  # a dry run drops nothing
    done = cli("targets", "prune", "local", "--retain", "1", "--deployed", "v1.4.2", "--root", str(root))
    assert done.code == 0 and "pruned 1 kept value set(s)" in done.out, done.out
    with psycopg.connect(db) as conn:
        assert [(s["relation"], s["from_version"]) for s in keep.listed(conn)] == [("new_things", "v1.4.2")]
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'rollback_control' "
                            "AND tablename LIKE 'kept\\_%' AND tablename <> 'kept_sets'").fetchone() == (1,)


def test_prune_without_a_database_says_the_kept_values_stay(root: Path, cli, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    done = cli("targets", "prune", "local", "--retain", "1", "--deployed", "v1.4.2", "--root", str(root))
    assert done.code == 0 and "kept values of the pruned versions stay in rollback_control" in done.out
    assert kept.counts({}) is None
