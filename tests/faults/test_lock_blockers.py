"""A session in the way of each database step (schema up, schema down, DB objects, job freeze, snapshot, restore):
the step waits at most lock_timeout per attempt, retries within its budget, then stops clean naming the blocker;
never dirty, nothing lost; after the blocker ends the same step converges; --cancel-blockers terminates it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from components.providers.base import StepFailed
from components.providers.dbobjects import DbFunctionsProvider, TriggerStatesProvider
from components.providers.jobs import JobFreezeProvider, read_control
from components.providers.schema import SchemaVersionProvider
from components.providers.snapshot import PgDumpSnapshotProvider, restore_snapshot
from components.rollout import sha256_text
from tests.components.conftest import checksums

FAST = {"timeout_ms": 200, "budget_ms": 1500, "cancel_blockers": False}
CANCEL = {**FAST, "cancel_blockers": True}
HANG_GUARD = 60.0  # a step still running after this long waits without end: the failure this suite exists for


@contextmanager
def blocker(dsn: str, sql: str, app: str = "report-job") -> Iterator[psycopg.Connection]:
    """A session that ran `sql` in a transaction it keeps open (idle in transaction), as a stuck report would."""
    conn = psycopg.connect(dsn, application_name=app)
    conn.execute(sql)
    try:
        yield conn
    finally:
        if not conn.closed:
            conn.rollback()
            conn.close()


def bounded(call: Callable[[], Any]) -> Any:
    """call() in a thread; fails the test if it has not returned within HANG_GUARD (an unbounded wait)."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = call()
        except BaseException as err:  # handed to the test thread
            out["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    assert not thread.is_alive(), f"the step was still waiting after {HANG_GUARD:.0f}s"
    if "error" in out:
        raise out["error"]
    return out["value"]


def release_later(conn: psycopg.Connection, after: float) -> threading.Thread:
    def run() -> None:
        time.sleep(after)
        conn.rollback()
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def one(dsn: str, sql: str) -> Any:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchone()


FILES = {
    "0001_items.up.sql": "CREATE TABLE items (id int PRIMARY KEY, note text);",
    "0001_items.down.sql": "DROP TABLE IF EXISTS items;",
    "0002_flag.up.sql": "ALTER TABLE items ADD COLUMN flag boolean;",
    "0002_flag.down.sql": "ALTER TABLE items DROP COLUMN IF EXISTS flag;",
}


def schema_props(target: int, locks: dict[str, Any] = FAST) -> dict[str, Any]:
    return {"target_version": target, "sql": FILES, "checksums": checksums(FILES), "allow_data_loss": True,
            "jobs_frozen_by": "ro-1", "locks": locks}


@pytest.mark.parametrize("direction", ["up", "down"])
def test_schema_step_behind_a_blocker_stops_clean_naming_it_then_converges(db, direction):
    p = SchemaVersionProvider()
    start, target = (1, 2) if direction == "up" else (2, 1)
    outs = p.create(p.check({}, schema_props(start)).inputs).outs
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO items (id, note) VALUES (1, 'keep me')")
    with blocker(db, "BEGIN; SELECT count(*) FROM items") as held:
        pid = held.info.backend_pid
        news = p.check(outs, schema_props(target)).inputs
        assert [b["pid"] for b in news["plan"]["blockers"]] == [pid]  # the plan saw it coming
        with pytest.raises(StepFailed) as failed:
            bounded(lambda: p.update("schema", outs, news))
    msg = str(failed.value)
    assert f"blocked by pid {pid} ('report-job', idle in transaction" in msg
    assert "SELECT count(*) FROM items" in msg and "--cancel-blockers" in msg
    assert f"schema is at version {start}, not dirty" in msg and "Jobs stay frozen by rollout ro-1" in msg
    assert one(db, "SELECT version, dirty FROM schema_migrations") == (start, False)
    assert one(db, "SELECT note FROM items WHERE id = 1") == ("keep me",)  # nothing lost

    done = bounded(lambda: p.update("schema", outs, p.check(outs, schema_props(target)).inputs)).outs
    assert done["version"] == target and one(db, "SELECT version, dirty FROM schema_migrations") == (target, False)


def test_schema_step_retries_until_the_blocker_ends_and_the_app_keeps_reading(db):
    p = SchemaVersionProvider()
    outs = p.create(p.check({}, schema_props(2)).inputs).outs
    slowest: list[float] = []
    stop = threading.Event()

    def app() -> None:  # reads the table the ALTER wants, as users do
        with psycopg.connect(db, autocommit=True) as conn:
            while not stop.is_set():
                began = time.monotonic()
                conn.execute("SELECT count(*) FROM items").fetchone()
                slowest.append(time.monotonic() - began)
                time.sleep(0.02)

    reader = threading.Thread(target=app)
    with blocker(db, "BEGIN; SELECT * FROM items") as held:
        pid = held.info.backend_pid
        reader.start()
        ender = release_later(held, 1.0)
        done = bounded(lambda: p.update("schema", outs, p.check(outs, schema_props(1, {**FAST, "budget_ms": 20000}))
                                        .inputs)).outs
        ender.join()
    stop.set()
    reader.join()
    waits = done["lock_waits"]
    assert done["version"] == 1 and waits["lock_retries"] >= 1
    assert pid in [b["pid"] for b in waits["blockers"]] and waits["cancelled"] == []
    # Behind a waiting ALTER every reader queues; lock_timeout bounds that queue to one timeout per attempt.
    assert max(slowest) < 0.2 + 1.0, f"an app read waited {max(slowest):.2f}s behind the migration"


def test_cancel_blockers_terminates_the_session_and_says_which(db):
    p = SchemaVersionProvider()
    outs = p.create(p.check({}, schema_props(2)).inputs).outs
    with blocker(db, "BEGIN; SELECT * FROM items", app="stuck-worker") as held:
        pid = held.info.backend_pid
        done = bounded(lambda: p.update("schema", outs, p.check(outs, schema_props(1, CANCEL)).inputs)).outs
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1")  # terminated
    assert done["version"] == 1
    assert [(b["pid"], b["application_name"]) for b in done["lock_waits"]["cancelled"]] == [(pid, "stuck-worker")]


def trigger_db(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE audited (id int); CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN RETURN NEW; END $$; CREATE TRIGGER audit AFTER INSERT ON audited "
                     "FOR EACH ROW EXECUTE FUNCTION noop()")


def test_trigger_step_behind_a_blocker_stops_clean_then_converges(db):
    trigger_db(db)
    p = TriggerStatesProvider()
    news = {"triggers": {"audit": {"table": "public.audited", "enabled": False}}, "locks": FAST,
            "jobs_frozen_by": None}
    with blocker(db, "BEGIN; INSERT INTO audited VALUES (1)") as held:
        with pytest.raises(StepFailed, match=rf"blocked by pid {held.info.backend_pid} \('report-job'"):
            bounded(lambda: p.create(news))
    assert one(db, "SELECT tgenabled FROM pg_trigger WHERE tgname = 'audit'") == ("O",)  # unchanged
    bounded(lambda: p.create(news))
    assert one(db, "SELECT tgenabled FROM pg_trigger WHERE tgname = 'audit'") == ("D",)


def test_function_step_behind_a_blocker_stops_clean_then_converges(db):
    trigger_db(db)
    sql = "CREATE OR REPLACE FUNCTION public.answer() RETURNS int LANGUAGE sql AS $$ SELECT 42 $$;"
    with psycopg.connect(db) as conn:
        conn.execute("CREATE FUNCTION public.answer() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$")
    news = {"functions": {"answer": {"file": "functions/answer.sql", "sha256": sha256_text(sql), "sql": sql}},
            "locks": FAST, "jobs_frozen_by": None}
    p = DbFunctionsProvider()
    # A deploy replacing the same function in an open transaction holds its pg_proc row.
    with blocker(db, "BEGIN; CREATE OR REPLACE FUNCTION public.answer() RETURNS int LANGUAGE sql AS $$ SELECT 7 $$",
                 app="deploy") as held:
        with pytest.raises(StepFailed, match=rf"blocked by pid {held.info.backend_pid} \('deploy'"):
            bounded(lambda: p.create(news))
    assert one(db, "SELECT public.answer()") == (1,)
    bounded(lambda: p.create(news))
    assert one(db, "SELECT public.answer()") == (42,)


def test_job_freeze_behind_a_blocker_stops_clean_then_converges(db):
    p = JobFreezeProvider()
    queue = {"backend": "postgres", "drain_seconds": 1.0}
    p.create({"rollout_id": "ro-1", "queue": queue, "locks": FAST})
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE rollback_control.rollout SET frozen = false")
    with blocker(db, "BEGIN; SELECT * FROM rollback_control.rollout FOR UPDATE", app="admin") as held:
        with pytest.raises(StepFailed, match=rf"freezing jobs could not get its locks.*pid {held.info.backend_pid}"):
            bounded(lambda: p.create({"rollout_id": "ro-2", "queue": queue, "locks": FAST}))
    assert read_control(db)["rollout"] == "ro-1"  # the failed freeze changed nothing
    bounded(lambda: p.create({"rollout_id": "ro-2", "queue": queue, "locks": FAST}))
    assert read_control(db) == {"rollout": "ro-2", "frozen": True, "flags": {}}


def test_snapshot_behind_an_exclusive_lock_stops_naming_it_then_converges(db, tmp_path):
    with psycopg.connect(db) as conn:
        conn.execute("CREATE TABLE ledger (v int); INSERT INTO ledger VALUES (7)")
    p = PgDumpSnapshotProvider()
    news = {"db_rollout": "db-1", "destination": f"dir:{tmp_path}", "prefix": "local", "locks": FAST,
            "jobs_frozen_by": None}
    with blocker(db, "BEGIN; LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE", app="migrator") as held:
        with pytest.raises(StepFailed, match=rf"pg_dump \(the safety snapshot\).*pid {held.info.backend_pid}"):
            bounded(lambda: p.create(news))
    assert not list(tmp_path.rglob("*.dump"))  # no partial snapshot stored
    outs = bounded(lambda: p.create(news)).outs
    assert outs["bytes"] > 0


def test_restore_over_a_database_in_use_stops_naming_the_blocker_then_converges(db, tmp_path):
    with psycopg.connect(db) as conn:
        conn.execute("CREATE TABLE ledger (v int); INSERT INTO ledger VALUES (7)")
    ref = PgDumpSnapshotProvider().create({"db_rollout": "db-1", "destination": f"dir:{tmp_path}",
                                           "prefix": "local", "jobs_frozen_by": None}).outs["reference"]
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE ledger SET v = 8")
    with blocker(db, "BEGIN; SELECT * FROM ledger") as held:
        with pytest.raises(RuntimeError, match=rf"pg_restore could not get its locks.*pid {held.info.backend_pid}"):
            bounded(lambda: restore_snapshot(ref, db, lock_props=FAST))
        assert held.execute("SELECT v FROM ledger").fetchone() == (8,)  # the blocker's view: untouched
    bounded(lambda: restore_snapshot(ref, db, lock_props=FAST))
    assert one(db, "SELECT v FROM ledger") == (7,)
