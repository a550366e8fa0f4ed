"""The Vercel stand-in's apps: served against the live golang-migrate schema of their database, every request logged."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from sandbox.processes import free_port
from sandbox.vercel_standin import serve
from tests.databases import create_database, drop_database

TOKEN = "vt_unit-test-token"
ALIAS = "probe.unit.test"


@pytest.fixture
def standin() -> Iterator[httpx.Client]:
    """An in-process stand-in with no default app database: v3..5, v5..5 and a maintenance deployment."""
    port = free_port()
    server = serve(port, TOKEN)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        for dep_id, meta in (("dpl_old", {"requires_schema": {"min": 3, "max": 5}}),
                             ("dpl_new", {"requires_schema": {"min": 5, "max": 5}}),
                             ("dpl_undeclared", {"requires_schema": None}),
                             ("dpl_down", {"maintenance": True})):
            client.post("/v13/deployments", json={"id": dep_id, "name": "web", "meta": meta}).raise_for_status()
        yield client
    server.shutdown()
    server.server_close()


@pytest.fixture
def db(sandbox) -> Iterator[str]:
    """A fresh database with golang-migrate's table at version 5."""
    dsn = create_database(sandbox, "standin")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)")
        conn.execute("INSERT INTO schema_migrations VALUES (5, false)")
    yield dsn
    drop_database(sandbox, dsn)


def _set_version(dsn: str, version: int, table: str = "schema_migrations") -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"UPDATE {table} SET version = %s, dirty = false", (version,))


def _point(client: httpx.Client, deployment: str, alias: str = ALIAS) -> None:
    client.post(f"/v2/deployments/{deployment}/aliases", json={"alias": alias}).raise_for_status()


def _use(client: httpx.Client, dsn: str | None, **extra: Any) -> httpx.Response:
    return client.patch(f"/_standin/app/{ALIAS}", json={"database_url": dsn, **extra})


def test_the_app_answers_500_naming_the_schema_when_its_deployment_excludes_it(standin, db):
    _point(standin, "dpl_new")
    assert _use(standin, db).status_code == 200
    assert standin.get(f"/_standin/app/{ALIAS}/health").json() == {"ok": True, "deployment": "dpl_new"}
    _set_version(db, 3)
    for path in ("/health", "/orders/42", ""):
        resp = standin.get(f"/_standin/app/{ALIAS}{path}")
        assert resp.status_code == 500
        assert resp.json()["error"] == {"code": "schema_incompatible", "message": "schema 3 is not supported: "
                                        "deployment dpl_new requires schema 5..5"}
    _point(standin, "dpl_old")  # accepts 3..5
    ok = standin.get(f"/_standin/app/{ALIAS}/orders/42")
    assert ok.status_code == 200 and ok.json() == {"ok": True, "deployment": "dpl_old", "path": "/orders/42",
                                                   "schema": 3}
    _point(standin, "dpl_undeclared")  # no declared range: never judged
    _set_version(db, 99)
    assert standin.get(f"/_standin/app/{ALIAS}/health").status_code == 200


def test_the_maintenance_deployment_answers_503_with_retry_after_and_is_never_incompatible(standin, db):
    _point(standin, "dpl_down")
    _use(standin, db).raise_for_status()
    for version in (5, 1, 99):
        _set_version(db, version)
        resp = standin.get(f"/_standin/app/{ALIAS}/health")
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "30"
        assert resp.json()["maintenance"] is True and resp.json()["error"]["code"] == "maintenance"
    assert [(r["deployment"], r["schema"], r["status"]) for r in standin.get("/_standin/requests").json()[
        "requests"]] == [("dpl_down", 5, 503), ("dpl_down", 1, 503), ("dpl_down", 99, 503)]


def test_every_app_request_is_logged_and_the_log_filters_by_alias_and_time(standin, db):
    _point(standin, "dpl_new")
    _point(standin, "dpl_old", alias="other.unit.test")
    _use(standin, db).raise_for_status()
    start = time.time()
    standin.get(f"/_standin/app/{ALIAS}/health")
    _set_version(db, 4)
    standin.get(f"/_standin/app/{ALIAS}/feed")
    standin.get("/_standin/app/other.unit.test/health")  # no database set for it and no default: not judged
    standin.get("/_standin/app/nowhere.unit.test/health")
    middle = time.time()
    standin.get(f"/_standin/app/{ALIAS}/health")

    log = standin.get("/_standin/requests", params={"alias": ALIAS}).json()["requests"]
    assert [(r["path"], r["deployment"], r["schema"], r["dirty"], r["status"]) for r in log] == [
        ("/health", "dpl_new", 5, False, 200), ("/feed", "dpl_new", 4, False, 500), ("/health", "dpl_new", 4, False,
                                                                                      500)]
    assert all(start <= r["at"] <= r["done"] for r in log)
    assert len(standin.get("/_standin/requests", params={"alias": ALIAS, "since": middle}).json()["requests"]) == 1
    every = standin.get("/_standin/requests", params={"since": start}).json()["requests"]
    assert [(r["alias"], r["deployment"], r["schema"], r["schema_error"], r["status"]) for r in every[2:4]] == [
        ("other.unit.test", "dpl_old", None, "no_database", 200), ("nowhere.unit.test", None, None, "no_database", 404)]
    assert standin.get("/_standin/requests", params={"since": "yesterday"}).status_code == 400


def test_the_database_hook_needs_the_token_takes_a_table_parameter_and_never_shows_the_dsn(standin, db, sandbox):
    password = sandbox.secrets["pg_password"]
    _point(standin, "dpl_new")
    denied = httpx.patch(f"{standin.base_url}/_standin/app/{ALIAS}", json={"database_url": db})
    assert denied.status_code == 403
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA ops")
        conn.execute("CREATE TABLE ops.migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)")
        conn.execute("INSERT INTO ops.migrations VALUES (2, true)")
    shown = [_use(standin, db, migrations_table="ops.migrations")]
    assert shown[0].json() == {"alias": ALIAS, "database": "custom", "migrations_table": "ops.migrations"}
    shown.append(standin.get(f"/_standin/app/{ALIAS}/health"))
    assert shown[-1].status_code == 500 and "schema 2 is not supported" in shown[-1].text
    bad = _use(standin, db, migrations_table="x; DROP TABLE ops.migrations")
    assert bad.status_code == 400
    _use(standin, f"{db}_missing").raise_for_status()  # a database that does not exist: schema unknown, served
    shown.append(standin.get(f"/_standin/app/{ALIAS}/health"))
    assert shown[-1].status_code == 200
    shown.append(standin.get("/_standin/requests"))
    assert shown[-1].json()["requests"][-1]["schema_error"] == "OperationalError"
    assert all(password not in r.text and "postgresql://" not in r.text for r in [*shown, bad])
    reset = _use(standin, None)
    assert reset.json()["database"] == "default"
    assert standin.get(f"/_standin/app/{ALIAS}/health").status_code == 200  # back to no database: not judged


def test_no_connection_stays_open_on_the_app_database(standin, db, sandbox):
    _point(standin, "dpl_old")
    _use(standin, db).raise_for_status()
    for _ in range(20):
        assert standin.get(f"/_standin/app/{ALIAS}/health").status_code == 200
    name = db.rsplit("/", 1)[1]
    deadline = time.monotonic() + 5
    with psycopg.connect(db.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the stand-in keeps connections to the app database open"
            time.sleep(0.05)
        admin.execute(f"CREATE DATABASE {name}_copy TEMPLATE {name}")  # refused while anyone is connected
        admin.execute(f"DROP DATABASE {name}_copy")


def test_health_hooks_keep_their_behaviour(standin, db):
    _point(standin, "dpl_old")
    _use(standin, db).raise_for_status()
    standin.patch("/_standin/deployments/dpl_old", json={"meta": {"health_fail_first": 2}}).raise_for_status()
    assert [standin.get(f"/_standin/app/{ALIAS}/health").status_code for _ in range(3)] == [503, 503, 200]
    standin.patch("/_standin/deployments/dpl_old", json={"meta": {"health": "fail"}}).raise_for_status()
    assert standin.get(f"/_standin/app/{ALIAS}/health").json() == {"ok": False, "deployment": "dpl_old"}


def test_the_sandbox_stand_in_reads_the_sandbox_app_database_by_default(sandbox):
    env = sandbox.env()
    headers = {"Authorization": f"Bearer {env['VERCEL_TOKEN']}"}
    alias = "default-db.unit.test"
    with httpx.Client(base_url=env["VERCEL_API_URL"], headers=headers, timeout=10) as client:
        client.post("/v13/deployments", json={"id": "dpl_unit_default", "name": "web",
                                              "meta": {"requires_schema": {"min": 1, "max": 1}}}).raise_for_status()
        _point(client, "dpl_unit_default", alias=alias)
        with psycopg.connect(sandbox.database_url, autocommit=True) as conn:
            assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] is None
            since = time.time()
            assert client.get(f"/_standin/app/{alias}/health").status_code == 200  # no table yet: not judged
            conn.execute("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, "
                         "dirty boolean NOT NULL)")
            try:
                conn.execute("INSERT INTO schema_migrations VALUES (2, false)")
                resp = client.get(f"/_standin/app/{alias}/health")
            finally:
                conn.execute("DROP TABLE schema_migrations")
        log = client.get("/_standin/requests", params={"alias": alias, "since": since}).json()["requests"]
        client.delete(f"/v2/aliases/{alias}").raise_for_status()
    assert resp.status_code == 500 and "schema 2" in resp.json()["error"]["message"]
    assert [(r["schema"], r["schema_error"], r["status"]) for r in log] == [(None, "UndefinedTable", 200),
                                                                            (2, None, 500)]
