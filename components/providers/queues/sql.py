"""The sql backend: the stack's own statements pause and resume its queue; its query counts running jobs.

A statement naming a table that does not exist yet (a database before its first migration) touches nothing:
it counts as 0 rows, so the first rollout onto an empty database can freeze.
"""

from __future__ import annotations

from typing import Any

import psycopg
import psycopg.errors


def _execute(conn: psycopg.Connection, statement: str) -> psycopg.Cursor[Any] | None:
    """The statement's cursor, or None when a table it names does not exist (yet)."""
    try:
        with conn.transaction():  # a savepoint inside the step's transaction
            return conn.execute(statement)
    except psycopg.errors.UndefinedTable:
        return None


def pause(conn: psycopg.Connection, cfg: dict[str, Any]) -> int:
    """Run the stack's pause statement (in the freeze transaction); rows it touched."""
    cur = _execute(conn, cfg["pause"])
    return max(cur.rowcount, 0) if cur else 0


def resume(conn: psycopg.Connection, cfg: dict[str, Any]) -> int:
    """Run the stack's resume statement (in the release transaction); rows it touched."""
    cur = _execute(conn, cfg["resume"])
    return max(cur.rowcount, 0) if cur else 0


def running(conn: psycopg.Connection, cfg: dict[str, Any]) -> int:
    """The stack's `running` query: one number, the jobs of the frozen kind still running."""
    cur = _execute(conn, cfg["running"])
    if cur is None:
        return 0
    row = cur.fetchone()
    if row is None or len(row) != 1 or isinstance(row[0], bool) or not isinstance(row[0], int):
        raise ValueError(f"rollback:jobs.running must return one integer, got {row!r}")
    return int(row[0])
