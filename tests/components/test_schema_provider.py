"""SchemaVersionProvider against a real database: up/down, preview plan, dirty, checksums, data loss, lock."""

from __future__ import annotations

import psycopg
import pytest

from components.providers import schema
from components.providers.base import StepFailed
from components.providers.schema import SchemaVersionProvider, lock_id
from tests.components.conftest import checksums


def props(files: dict[str, str], target: int, **extra) -> dict:
    return {"target_version": target, "sql": files, "checksums": checksums(files), "allow_data_loss": False,
            "jobs_frozen_by": None, **extra}


def version_row(dsn: str) -> tuple | None:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT version, dirty FROM schema_migrations").fetchone()


def tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_up_then_down_with_plan_and_golang_migrate_table(db, migrations):
    p = SchemaVersionProvider()
    checked = p.check({}, props(migrations, 2)).inputs
    assert checked["plan"] == {"from": 0, "to": 2, "direction": "up",
                               "files": ["0001_items.up.sql", "0002_tags.up.sql"], "data_loss": []}
    created = p.create(checked)
    assert created.outs["version"] == 2 and created.outs["applied"] == ["0001_items.up.sql", "0002_tags.up.sql"]
    assert version_row(db) == (2, False)
    assert {"items", "tags", "schema_migrations"} <= tables(db)

    same = p.check(checked, props(migrations, 2)).inputs
    assert same["plan"]["files"] == []
    assert p.diff("schema", created.outs, same).changes is False

    down = p.check(checked, props(migrations, 1)).inputs
    assert down["plan"]["files"] == ["0002_tags.down.sql"] and down["plan"]["direction"] == "down"
    assert p.diff("schema", created.outs, down).changes is True
    updated = p.update("schema", created.outs, down)
    assert updated.outs["version"] == 1
    assert version_row(db) == (1, False)
    assert "tags" not in tables(db)

    to_zero = p.update("schema", updated.outs, p.check({}, props(migrations, 0)).inputs)
    assert to_zero.outs["version"] == 0
    assert version_row(db) is None  # golang-migrate's nil version: no row
    assert p.read("schema", to_zero.outs).outs["version"] is None


def test_drift_shows_in_preview(db, migrations):
    p = SchemaVersionProvider()
    outs = p.create(p.check({}, props(migrations, 2)).inputs).outs
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE schema_migrations SET version = 1")
    checked = p.check(outs, props(migrations, 2)).inputs
    assert checked["plan"]["files"] == ["0002_tags.up.sql"]
    assert p.diff("schema", outs, checked).changes is True


def test_dirty_database_is_refused_with_recovery_message(db, migrations):
    p = SchemaVersionProvider()
    outs = p.create(props(migrations, 1)).outs
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE schema_migrations SET dirty = true")
    assert "dirty" in p.check(outs, props(migrations, 2)).inputs["plan"]["refused"]
    with pytest.raises(StepFailed, match=r"dirty at version 1.*migrate force V"):
        p.update("schema", outs, props(migrations, 2, jobs_frozen_by="ro-abc"))
    with pytest.raises(StepFailed, match="Jobs stay frozen by rollout ro-abc"):
        p.update("schema", outs, props(migrations, 2, jobs_frozen_by="ro-abc"))


def test_checksum_mismatch_and_unrecorded_files_are_refused(db, migrations):
    p = SchemaVersionProvider()
    tampered = props(migrations, 2)
    tampered["sql"] = {**migrations, "0002_tags.up.sql": migrations["0002_tags.up.sql"] + "\nDROP TABLE items;"}
    with pytest.raises(StepFailed, match=r"0002_tags.up.sql differs from its recorded sha256"):
        p.create(tampered)
    unrecorded = props(migrations, 2)
    del unrecorded["checksums"]["0002_tags.up.sql"]
    with pytest.raises(StepFailed, match=r"0002_tags.up.sql have no recorded sha256"):
        p.create(unrecorded)
    assert version_row(db) is None  # refused before any change


def test_missing_down_file_is_refused(db, migrations):
    p = SchemaVersionProvider()
    outs = p.create(props(migrations, 3)).outs
    del migrations["0003_index.down.sql"]
    with pytest.raises(StepFailed, match=r"0003_index.down.sql is missing"):
        p.update("schema", outs, props(migrations, 2))
    assert version_row(db) == (3, False)


def test_data_loss_is_refused_unless_allowed(db, migrations):
    p = SchemaVersionProvider()
    outs = p.create(props(migrations, 2)).outs
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO tags VALUES (1)")
        conn.execute("INSERT INTO items (id, note, tag) VALUES (1, 'a', 1)")
    checked = p.check(outs, props(migrations, 1)).inputs
    assert checked["plan"]["data_loss"] == ["0002_tags.down.sql drops column items.tag (1 rows)",
                                            "0002_tags.down.sql drops table tags (1 rows)"]
    with pytest.raises(StepFailed, match=r"data-loss pre-check refused.*table tags \(1 rows\)"):
        p.update("schema", outs, checked)
    assert version_row(db) == (2, False) and "tags" in tables(db)
    done = p.update("schema", outs, {**checked, "allow_data_loss": True})
    assert done.outs["version"] == 1 and "tags" not in tables(db)


def test_failing_step_rolls_back_and_stays_clean(db, migrations):
    p = SchemaVersionProvider()
    broken = {**migrations, "0002_tags.up.sql": "CREATE TABLE tags (id int);\nSELECT 1/0;"}
    with pytest.raises(StepFailed, match=r"0002_tags.up.sql failed and was rolled back \(schema still at 1\)"):
        p.create(props(broken, 2))
    assert version_row(db) == (1, False)
    assert "tags" not in tables(db)


def test_advisory_lock_excludes_a_concurrent_runner(db, migrations, monkeypatch):
    monkeypatch.setattr(schema, "LOCK_WAIT_SECONDS", 0.6)
    with psycopg.connect(db, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_id(db.rsplit("/", 1)[1]),))
        with pytest.raises(StepFailed, match="another migration holds the schema advisory lock"):
            SchemaVersionProvider().create(props(migrations, 1))
    assert SchemaVersionProvider().create(props(migrations, 1)).outs["version"] == 1


def test_refresh_after_an_update_finds_no_drift_until_the_database_moves(db, migrations):
    p = SchemaVersionProvider()
    first = p.check({}, props(migrations, 1)).inputs
    outs = p.create(first).outs
    checked = p.check(outs, props(migrations, 2)).inputs
    assert checked["plan"]["files"] == ["0002_tags.up.sql"]
    outs = p.update("schema", outs, checked).outs
    # the engine's refresh diff: the read outputs against the inputs of the update that already ran the plan
    assert p.diff("schema", p.read("schema", outs).outs, checked).changes is False
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE schema_migrations SET version = 1")
    assert p.diff("schema", p.read("schema", outs).outs, checked).changes is True
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE schema_migrations SET version = 2, dirty = true")
    assert p.diff("schema", p.read("schema", outs).outs, checked).changes is True


def test_a_file_that_commits_in_parts_keeps_the_version_truthful_and_resumes(db):
    files = {"1_base.up.sql": "CREATE TABLE base (x int);", "1_base.down.sql": "DROP TABLE base;",
             "2_parts.up.sql": "BEGIN; CREATE TABLE part_one (x int); COMMIT;\n"
                               "CREATE INDEX CONCURRENTLY part_two_x ON part_two (x);",
             "2_parts.down.sql": "DROP INDEX CONCURRENTLY part_two_x; DROP TABLE part_one;"}
    p = SchemaVersionProvider()
    checked = p.check({}, props(files, 2)).inputs
    assert checked["plan"]["non_atomic"] == {"2_parts.up.sql": "outside-transaction"}
    with pytest.raises(StepFailed, match=r'relation "part_two" does not exist') as err:
        p.create(checked)
    assert "1 of its 2 parts committed" in str(err.value) and "continues with part 2" in str(err.value)
    assert version_row(db) == (1, False)  # never dirty, never claiming 2
    assert "part_one" in tables(db)
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT units_done FROM rollback_control.migration_progress").fetchone() == (1,)
        conn.execute("CREATE TABLE part_two (x int)")
    created = p.create(p.check({}, props(files, 2)).inputs)  # part 1 (CREATE TABLE part_one) is not run again
    assert created.outs["version"] == 2 and version_row(db) == (2, False)
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM rollback_control.migration_progress").fetchone() == (0,)
        assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 'part_two_x'::regclass").fetchone()[0]
    down = p.update("schema", created.outs, p.check(created.outs, props(files, 1)).inputs)
    assert down.outs["version"] == 1 and "part_one" not in tables(db)


def test_files_with_their_own_transaction_blocks_run_atomically_with_their_version_row(db):
    files = {"10_wrapped.up.sql": "begin;\nCREATE TABLE w (x int);\nINSERT INTO w VALUES (1);\ncommit;\n",
             "10_wrapped.down.sql": "BEGIN TRANSACTION; DROP TABLE w; END;",
             "20_bad.up.sql": "BEGIN; CREATE TABLE w2 (x int); INSERT INTO w2 VALUES ('x'); COMMIT;",
             "20_bad.down.sql": "DROP TABLE w2;"}
    p = SchemaVersionProvider()
    checked = p.check({}, props(files, 10)).inputs
    assert "non_atomic" not in checked["plan"]
    outs = p.create(checked).outs
    assert version_row(db) == (10, False)
    with pytest.raises(StepFailed, match="invalid input syntax for type integer"):
        p.update("schema", outs, p.check(outs, props(files, 20)).inputs)
    assert version_row(db) == (10, False) and "w2" not in tables(db)  # the whole block rolled back with its row


def test_a_rollback_or_an_unclosed_begin_is_refused_before_anything_runs(db):
    for body, what in (("BEGIN; CREATE TABLE r (x int); ROLLBACK;", "top-level ROLLBACK"),
                       ("BEGIN; CREATE TABLE r (x int);", "never commits")):
        files = {"1_r.up.sql": body, "1_r.down.sql": "DROP TABLE r;"}
        with pytest.raises(StepFailed, match=what):
            SchemaVersionProvider().create(SchemaVersionProvider().check({}, props(files, 1)).inputs)
        assert "r" not in tables(db)
