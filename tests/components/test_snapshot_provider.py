"""pg_dump snapshots to S3 (moto) and to a local dir; restoring one into a new database."""

from __future__ import annotations

import psycopg

from components.providers.snapshot import PgDumpSnapshotProvider, restore_snapshot, snapshot_exists
from tests.databases import create_database, drop_database


def test_snapshot_to_s3_then_restore_into_new_database(db, sandbox):
    with psycopg.connect(db) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, total int); INSERT INTO orders VALUES (1, 42)")
    p = PgDumpSnapshotProvider()
    outs = p.create({"db_rollout": "db-1", "destination": "s3", "prefix": "local", "jobs_frozen_by": None}).outs
    ref = outs["reference"]
    assert ref.startswith("s3://rollback-snapshots/local/") and ref.endswith("-db-1.dump")
    assert outs["bytes"] > 0 and len(outs["sha256"]) == 64
    assert snapshot_exists(ref) and p.read("s", outs).outs["exists"] is True
    assert p.diff("s", outs, {**outs, "jobs_frozen_by": "ro-x"}).changes is False
    assert p.diff("s", outs, {**outs, "db_rollout": "db-2"}).changes is True

    scratch = create_database(sandbox, "scratch")
    drop_database(sandbox, scratch)
    restore_snapshot(ref, scratch, create=True)
    try:
        with psycopg.connect(scratch) as conn:
            assert conn.execute("SELECT total FROM orders").fetchone() == (42,)
    finally:
        drop_database(sandbox, scratch)


def test_snapshot_to_local_dir_and_restore_over_target(db, tmp_path):
    with psycopg.connect(db) as conn:
        conn.execute("CREATE TABLE t (v int); INSERT INTO t VALUES (7)")
    outs = PgDumpSnapshotProvider().create({"db_rollout": "db-1", "destination": f"dir:{tmp_path}",
                                            "prefix": "local", "jobs_frozen_by": None}).outs
    assert outs["reference"].startswith(f"file://{tmp_path}/local/")
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE t SET v = 8; CREATE TABLE extra (x int)")
    restore_snapshot(outs["reference"], db)
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT v FROM t").fetchone() == (7,)
        assert not snapshot_exists(outs["reference"] + ".missing")
