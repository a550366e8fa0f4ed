"""The live-traffic harness: TrafficResult's arithmetic on synthetic records, and short runs on the sandbox's
PostgreSQL (a plain table; the example app's traffic.sql at both schema versions its releases record)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import psycopg
import pytest

import rollback_stacks
from components.providers import data_loss
from components.providers import migrations as mig
from components.providers.schema import data_at_risk
from sandbox.traffic import APPLICATION_NAME, Record, Traffic, TrafficResult, load_queries, percentile
from tests.databases import create_database, drop_database

LOCAL = Path(__file__).resolve().parents[1] / "rollback_stacks" / "local"


def ok(start: float, end: float, client: int = 0) -> Record:
    return Record(client, start, end)


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile(values, 1.0)) == (50.0, 99.0, 100.0)
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0 and percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.99) == 0.0


def test_figures_of_synthetic_records():
    records = [ok(0.0, 0.1), ok(0.1, 0.3, 1), ok(0.2, 1.2, 2), ok(1.3, 1.4),
               Record(1, 1.4, 2.9, "OperationalError: the connection is lost"),
               Record(2, 3.0, 3.05, "OperationalError: the connection is lost"),
               Record(3, 3.1, 3.2, "QueryCanceled: x"), Record(3, 0.0, 3.9, "OperationalError: refused", query=-1)]
    r = TrafficResult.of(records, started=0.0, stopped=4.0)
    assert r.completed == 4
    assert r.errors == [("OperationalError: the connection is lost", 2), ("QueryCanceled: x", 1),
                        ("OperationalError: refused", 1)]
    # successes end at 0.1, 0.3, 1.2, 1.4; the errors do not end a gap: the longest is 1.4 -> stop at 4.0
    assert r.longest_gap == pytest.approx(2.6)
    latencies = sorted(rec.end - rec.start for rec in records if rec.query >= 0)  # a failed reconnect is none
    assert r.max_latency == pytest.approx(1.5) and r.p50 == pytest.approx(latencies[3])
    assert r.p99 == pytest.approx(1.5)
    assert r.summary()["completed"] == 4 and r.summary()["errors"] == [[m, n] for m, n in r.errors]


def test_gaps_count_the_edges_and_ignore_ends_outside_the_run():
    assert TrafficResult.of([], 10.0, 12.5).longest_gap == 2.5  # nothing completed: the whole run
    assert TrafficResult.of([ok(10.0, 11.5)], 10.0, 12.0).longest_gap == 1.5  # start -> first
    assert TrafficResult.of([ok(10.0, 10.2)], 10.0, 11.0).longest_gap == pytest.approx(0.8)  # last -> stop
    late = TrafficResult.of([ok(10.0, 10.5), ok(11.9, 12.4)], 10.0, 12.0)  # in flight at stop: ends after it
    assert late.longest_gap == 1.5 and late.completed == 2


def test_window_keeps_the_statements_that_overlap_it():
    records = [ok(t / 10, t / 10 + 0.01) for t in range(100)] + [ok(5.0, 6.0, 1), ok(5.5, 5.6, 2)]
    r = TrafficResult.of(sorted(records, key=lambda x: x.start), 0.0, 10.0)
    during = r.window(5.2, 5.8)
    assert during.completed == 9  # the 7 steady ones starting 5.2..5.8, the long one, and 5.5
    assert during.max_latency == pytest.approx(1.0) and r.p99_between(5.2, 5.8) == pytest.approx(1.0)
    assert during.longest_gap == pytest.approx(0.1, abs=1e-6)
    assert r.window(0.0, 4.0).max_latency == pytest.approx(0.01)


def test_load_queries(tmp_path):
    f = tmp_path / "q.sql"
    f.write_text("-- a comment line\nSELECT 1;\n\n-- writes\nINSERT INTO t (a)\n  VALUES (';');  -- tail\n"
                 "SELECT random()\n;\n")
    assert load_queries(f) == ["SELECT 1", "INSERT INTO t (a)\n  VALUES (';')", "SELECT random()"]
    f.write_text("-- nothing\n")
    with pytest.raises(ValueError, match="no SQL statement"):
        load_queries(f)
    f.write_text("SELECT FROM WHERE;\n")
    with pytest.raises(ValueError, match="not valid SQL"):
        load_queries(f)


@pytest.fixture
def dsn(sandbox):
    url = create_database(sandbox, "traffic")
    yield url
    drop_database(sandbox, url)


def sessions(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                            (APPLICATION_NAME,)).fetchone()[0]


def test_runs_for_a_second_against_postgres(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE hits (id bigserial PRIMARY KEY, v double precision NOT NULL)")
    queries = ["SELECT count(*) FROM hits", "INSERT INTO hits (v) VALUES (random())",
               "SELECT v FROM hits WHERE id = (SELECT floor(random() * 100)::bigint)"]
    with Traffic(dsn, queries, clients=4) as traffic:
        time.sleep(1.0)
        assert sessions(dsn) == 4
        result = traffic.stop()
    assert result.errors == [] and result.completed > 0
    assert 1.0 <= result.stopped - result.started < 2.0 and result.longest_gap < 0.5
    assert 0 < result.p50 <= result.p99 <= result.max_latency
    assert sessions(dsn) == 0  # every client closed its connection


def test_a_lost_connection_is_an_error_and_the_client_reconnects(dsn):
    with Traffic(dsn, ["SELECT 1"], clients=2, pause=0.01) as traffic:
        time.sleep(0.3)
        with psycopg.connect(dsn) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                         (APPLICATION_NAME,))
        killed = time.monotonic()
        time.sleep(0.5)
        result = traffic.stop()
    assert sum(n for _, n in result.errors) == 2, result.errors  # each client's statement in flight or next one
    assert [r for r in result.records if r.error is None and r.start > killed + 0.2]  # both went on after
    assert {r.client for r in result.records if r.error is None and r.start > killed + 0.2} == {0, 1}


def test_the_statement_timeout_guard(dsn):
    with Traffic(dsn, ["SELECT pg_sleep(5)"], clients=1, statement_timeout=0.2) as traffic:
        time.sleep(0.5)
    result = traffic.result
    assert result is not None and result.completed == 0
    assert result.errors[0][0] == "QueryCanceled: canceling statement due to statement timeout"


def run_all(conn: psycopg.Connection, queries: list[str]) -> None:
    for q in queries:
        conn.execute(q)


def test_local_traffic_runs_at_both_schema_versions_and_keeps_the_down_files_lossless(dsn):
    """traffic.sql uses only what v1.4.2 and v1.5.0 both have, and leaves no row the data-loss pre-check of the
    rollback between them would count."""
    versions = {v.label: v.database.schema_version for v in rollback_stacks.load("local").versions}
    old, new = versions["v1.4.2"], versions["v1.5.0"]
    files = {p.name: p.read_text() for p in (LOCAL / "migrations").glob("*.sql")}
    migrations = mig.parse(list(files))
    queries = load_queries(LOCAL / "traffic.sql")
    assert len(queries) >= 12 and any(q.startswith(("INSERT", "UPDATE", "DELETE")) for q in queries)
    down = mig.plan(migrations, new, old).steps
    locked = {re.findall(r'"([^"]*)"', f.name)[-1] for s in down for f in data_loss.classify(files[s.file])
              if isinstance(f, data_loss.Drop)}
    assert any(t in q for t in locked for q in queries if q.startswith(("UPDATE", "DELETE", "INSERT")))
    with psycopg.connect(dsn, autocommit=True) as conn:
        for step in mig.plan(migrations, None, old).steps:
            conn.execute(files[step.file])
        run_all(conn, queries * 3)
        for step in mig.plan(migrations, old, new).steps:
            conn.execute(files[step.file])
        run_all(conn, queries * 3)
        assert data_at_risk(conn, files, down) == []
        for step in down:
            conn.execute(files[step.file])
        run_all(conn, queries)
        assert conn.execute("SELECT count(*) FROM public.notifications").fetchone()[0] == 7
