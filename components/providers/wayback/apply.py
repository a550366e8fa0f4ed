"""Run a way back on the live database and check it arrived: refuse first if the live schema moved since the plan.

Each statement runs under its own timeouts: a transactional one in a transaction of its own with SET LOCAL, one
PostgreSQL refuses in a transaction (CREATE INDEX CONCURRENTLY) alone with session-level SET, then RESET.
A statement that fails stops the run: the statements before it stay applied (each committed), and the message says
how many.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from components.providers.wayback import catalog
from components.providers.wayback.model import Statement, WayBack


class ApplyError(RuntimeError):
    """The way back was not run, stopped midway, or did not arrive; `differences` names the objects when known."""

    def __init__(self, message: str, differences: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.differences = list(differences)


def _timeouts(stmt: Statement, scope: str) -> str:
    return (f"SET {scope} statement_timeout = {int(stmt.statement_timeout_ms)}; "
            f"SET {scope} lock_timeout = {int(stmt.lock_timeout_ms)}")


def execute(conn: psycopg.Connection, stmt: Statement) -> None:
    """Run one statement on an autocommit connection under its timeouts."""
    if not conn.autocommit:
        raise ValueError("way-back statements run on an autocommit connection")
    if stmt.transactional:
        with conn.transaction():
            conn.execute(_timeouts(stmt, "LOCAL"))
            conn.execute(stmt.sql)
        return
    conn.execute(_timeouts(stmt, "SESSION"))
    try:
        conn.execute(stmt.sql)
    finally:
        if not conn.closed:
            conn.execute("RESET statement_timeout; RESET lock_timeout")


def short(sql: str, limit: int = 160) -> str:
    """sql on one line, cut at limit characters (for messages)."""
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def check_live(conn: psycopg.Connection, wayback: WayBack, expect_live_digest: str,
               exclusions: tuple[Sequence[str], Sequence[str]] | None = None) -> None:
    """Refuse, naming what changed, unless the live schema is the one the way back was planned from."""
    now = catalog.snapshot(conn, *(exclusions or (wayback.exclude_schemas, wayback.exclude_tables)))
    if catalog.digest(now) != expect_live_digest:
        changes = catalog.differences(wayback.live, now, ("the plan", "live now")) if wayback.live else []
        raise ApplyError("the live schema changed since the plan; plan again: "
                         + ("; ".join(changes) or "(the planned snapshot is not at hand)"), changes)


def run(conn: psycopg.Connection, wayback: WayBack, *, expect_live_digest: str,
        exclude_schemas: Sequence[str] | None = None, exclude_tables: Sequence[str] | None = None) -> None:
    """Run the way back on live (an autocommit connection) once its schema is checked to be the planned one."""
    if wayback.refused:
        raise ApplyError(f"there is no way back: {wayback.refused}")
    exclusions = (wayback.exclude_schemas if exclude_schemas is None else exclude_schemas,
                  wayback.exclude_tables if exclude_tables is None else exclude_tables)
    check_live(conn, wayback, expect_live_digest, exclusions)
    total = len(wayback.statements)
    for i, stmt in enumerate(wayback.statements):
        try:
            execute(conn, stmt)
        except psycopg.Error as err:
            raise ApplyError(f"statement {i + 1} of {total} failed ({short(stmt.sql)}): "
                             f"{' '.join(str(err).split())}; the {i} statement(s) before it stay applied "
                             "(each committed); run the apply again: the next plan starts from where this one "
                             "stopped") from err


def verify(conn: psycopg.Connection, target_snapshot: catalog.Snapshot, *, exclude_schemas: Sequence[str] = (),
           exclude_tables: Sequence[str] = ()) -> list[str]:
    """The differences between the live schema now and the target's ([] when it arrived)."""
    return catalog.differences(catalog.snapshot(conn, exclude_schemas, exclude_tables), target_snapshot)


def verified(conn: psycopg.Connection, wayback: WayBack) -> None:
    """ApplyError naming each difference unless live now equals the planned target (the plan's exclusions)."""
    found = verify(conn, wayback.target, exclude_schemas=wayback.exclude_schemas,
                   exclude_tables=wayback.exclude_tables)
    if found:
        raise ApplyError("the live schema does not match the target: " + "; ".join(found), found)
