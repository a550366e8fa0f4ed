"""Kept values seen from the verbs: counted by `rollback status`, pruned by `targets prune` with the versions they
came from (components.providers.keep holds them; names and counts only, never a value)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg


def counts(env: Mapping[str, str]) -> dict[str, Any] | None:
    """Kept sets in the stack's database: how many wait for their version's release, how many rows they hold, and how
    many were restored; None without DATABASE_URL; `unknown` (the error's kind) when it cannot be read."""
    from components.providers import keep

    dsn = env.get("DATABASE_URL")
    if not dsn:
        return None
    try:
        with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as conn:
            conn.execute("SET default_transaction_read_only = on")
            sets = keep.listed(conn)
    except psycopg.Error as err:
        return {"unknown": type(err).__name__}
    waiting = [s for s in sets if s.get("state") == "kept"]
    return {"waiting": len(waiting), "waiting_rows": sum(int(s["rows"]) for s in waiting),
            "restored": sum(1 for s in sets if s.get("state") == "restored"),
            "not_restored": sum(1 for s in sets if s.get("state") == "not restored"),
            "by_version": {str(v): sum(1 for s in waiting if s.get("from_version") == v)
                           for v in dict.fromkeys(s.get("from_version") for s in waiting)}}


def prune(labels: list[str], env: Mapping[str, str], *, dry_run: bool = False) -> int | None:
    """Drop the kept sets that came from the versions `labels` (pruned by retention); how many, or None without
    DATABASE_URL."""
    from components.providers import keep

    dsn = env.get("DATABASE_URL")
    if not dsn or not labels:
        return None if not dsn else 0
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        doomed = [s["id"] for s in keep.listed(conn) if s.get("from_version") in labels]
        if dry_run:
            return len(doomed)
        return keep.drop(conn, doomed)
