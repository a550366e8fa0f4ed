"""The stand-in's app: a deployment answers against the live schema of its database, and every request is logged.

The schema version is read as golang-migrate stores it (`SELECT version, dirty FROM <table>`, default table
`schema_migrations`) at each request, through a tiny per-DSN pool whose idle connections are closed within about a
second (so nothing blocks a `CREATE DATABASE ... TEMPLATE` of the app database for long). A deployment whose
`meta.requires_schema` ({min, max}) excludes the live version answers 500; the maintenance deployment
(`meta.maintenance`) answers 503 with Retry-After and is never incompatible. An unknown schema (no database, no
table, no row) is not judged.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

MIGRATIONS_TABLE = "schema_migrations"  # golang-migrate's default
APP_DATABASE_ENV = "STANDIN_APP_DATABASE_URL"
RETRY_AFTER = "30"
LOG_LIMIT = 200_000
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?")


@dataclass(frozen=True)
class AppDatabase:
    """Where an alias's app reads its schema version: a DSN (never shown) and golang-migrate's table."""

    dsn: str | None = None
    table: str = MIGRATIONS_TABLE


@dataclass(frozen=True)
class Schema:
    """The live schema version as read at one moment; error is an exception class name only (never a DSN)."""

    version: int | None = None
    dirty: bool | None = None
    error: str | None = None


def valid_table(name: object) -> bool:
    """Whether name is a plain (optionally schema-qualified) SQL identifier."""
    return isinstance(name, str) and _TABLE.fullmatch(name) is not None


class Connections:
    """A tiny per-DSN pool of autocommit connections: a few idle ones each, closed after `idle` seconds unused."""

    def __init__(self, keep: int = 4, idle: float = 1.0) -> None:
        self.keep, self.idle = keep, idle
        self.lock = threading.Lock()
        self.free: dict[str, list[tuple[float, Any]]] = {}
        self.reaper: threading.Thread | None = None

    def get(self, dsn: str) -> tuple[Any, bool]:
        """An idle connection to dsn (pooled=True) or a new one."""
        with self.lock:
            stack = self.free.get(dsn)
            if stack:
                return stack.pop()[1], True
        import psycopg

        return psycopg.connect(dsn, autocommit=True, connect_timeout=3, options="-c statement_timeout=5000"), False

    def put(self, dsn: str, conn: Any) -> None:
        """Back to the pool when still usable and there is room, else closed."""
        from psycopg.pq import TransactionStatus

        if not conn.closed and not conn.broken and conn.info.transaction_status == TransactionStatus.IDLE:
            with self.lock:
                stack = self.free.setdefault(dsn, [])
                if len(stack) < self.keep:
                    stack.append((time.monotonic(), conn))
                    if self.reaper is None:
                        self.reaper = threading.Thread(target=self._reap_forever, name="standin-pool", daemon=True)
                        self.reaper.start()
                    return
        conn.close()

    def reap(self, older_than: float | None = None) -> int:
        """Close the idle connections unused for `older_than` seconds (default: idle); returns how many."""
        cutoff = time.monotonic() - (self.idle if older_than is None else older_than)
        with self.lock:
            old = [c for stack in self.free.values() for at, c in stack if at <= cutoff]
            for dsn, stack in list(self.free.items()):
                self.free[dsn] = [(at, c) for at, c in stack if at > cutoff]
        for conn in old:
            conn.close()
        return len(old)

    def _reap_forever(self) -> None:
        while True:
            time.sleep(self.idle / 4)
            self.reap()


def read_schema(db: AppDatabase, pool: Connections) -> Schema:
    """The version and dirty flag in db's migrations table (a pooled connection that broke is retried once)."""
    if not db.dsn:
        return Schema(error="no_database")
    from psycopg import sql

    query = sql.SQL("SELECT version, dirty FROM {}").format(sql.Identifier(*db.table.split(".")))
    for _attempt in range(2):
        conn, pooled = None, False
        try:
            conn, pooled = pool.get(db.dsn)
            row = conn.execute(query).fetchone()
        except Exception as exc:  # noqa: BLE001 - any failure is "schema unknown"; its text may name the server
            if conn is not None:
                pool.put(db.dsn, conn)  # kept only when the connection itself is still fine (a query error)
                if pooled and conn.broken:
                    continue
            return Schema(error=type(exc).__name__)
        pool.put(db.dsn, conn)
        if row is None:
            return Schema(error="no_version")
        return Schema(version=int(row[0]), dirty=bool(row[1]))
    return Schema(error="no_connection")


def answer(dep: dict[str, Any], schema: Schema) -> tuple[int, dict[str, Any], dict[str, str]] | None:
    """The app's own answer when it cannot serve (maintenance 503, incompatible schema 500); None: it serves."""
    meta = dep.get("meta") or {}
    if meta.get("maintenance"):
        return 503, {"ok": False, "maintenance": True, "deployment": dep["id"],
                     "error": {"code": "maintenance", "message": "down for maintenance, retry later"}}, \
            {"Retry-After": RETRY_AFTER}
    accepts = meta.get("requires_schema")
    if not accepts or schema.version is None or accepts["min"] <= schema.version <= accepts["max"]:
        return None
    message = (f"schema {schema.version} is not supported: deployment {dep['id']} requires schema "
               f"{accepts['min']}..{accepts['max']}")
    return 500, {"ok": False, "deployment": dep["id"], "schema": schema.version,
                 "error": {"code": "schema_incompatible", "message": message}}, {}


class RequestLog:
    """Every app request: when, which alias, the deployment that served it, the live schema, the status."""

    def __init__(self, limit: int = LOG_LIMIT) -> None:
        self.lock = threading.Lock()
        self.entries: deque[dict[str, Any]] = deque(maxlen=limit)

    def record(self, at: float, alias: str, path: str, deployment: str | None, schema: Schema, status: int) -> None:
        """Append one request (at: its arrival time, epoch seconds)."""
        entry = {"at": at, "done": time.time(), "alias": alias, "path": path, "deployment": deployment,
                 "schema": schema.version, "dirty": schema.dirty, "schema_error": schema.error, "status": status}
        with self.lock:
            self.entries.append(entry)

    def query(self, alias: str | None = None, since: float | None = None) -> list[dict[str, Any]]:
        """The logged requests (by arrival time), optionally of one alias and arrived at or after since."""
        with self.lock:
            found = [e for e in self.entries if (alias is None or e["alias"] == alias)
                     and (since is None or e["at"] >= since)]
        return sorted(found, key=lambda e: e["at"])
