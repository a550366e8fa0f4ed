"""The generator: the statements from the live schema to the target's (the ups replayed to N), proven on a copy.

(a) S = a schema-only copy of live on the shadow server (live is only read); it must snapshot like live. Excluded
    schemas are copied too (tables outside them may refer to them: Supabase's auth.users) but never compared.
(b) On S: the reversed renames, then each enum recreated without the values added since N ("pre-statements");
    a pre-statement that fails is a refusal naming it.
(c) pg-schema-diff plans S -> target (excluded schemas left out). Bookkeeping tables (exclude_tables, e.g.
    public._prisma_migrations) are not copied into S, so nothing drops them; a statement of the plan that names one
    or a sequence it owns (the target may hold them, when the shadow's build made them) is left out.
(d) statements = pre-statements + pg-schema-diff's, its lock timeouts replaced by lock_timeout_ms (the caller's
    lock policy; its statement timeouts stay: it knows which builds take long).
(e) Proof: every statement runs on S exactly as apply will run it on live, then S must snapshot like the target;
    any difference is a refusal naming the objects (how what pg-schema-diff cannot express is caught: domains,
    composite types, comments, grants other than on tables, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import psycopg
import psycopg.errors

from components.providers import sql_units
from components.providers.wayback import apply, catalog, enums, renames, schema_diff, shadow
from components.providers.wayback.model import ACCESS_EXCLUSIVE, Hazard, Statement, WayBack

__all__ = ["Hazard", "Refusal", "Statement", "WayBack", "way_back"]

SCRATCH_PREFIX = "rollback_wayback"
RENAME_HAZARD = Hazard(ACCESS_EXCLUSIVE, "a rename takes a brief ACCESS EXCLUSIVE lock on its table")


def reader(conninfo: str) -> psycopg.Connection:
    """An autocommit connection whose transactions are read-only (live is only read, and never held open)."""
    conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=shadow.CONNECT_TIMEOUT)
    conn.execute("SET default_transaction_read_only = on")
    return conn


# A rename whose object no longer has its new name: undone already, by an earlier run that stopped midway.
UNDONE = (psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedTable, psycopg.errors.UndefinedObject)


class Refusal(Exception):
    """There is no proven way back; the message says why, naming the object or statement."""


def _fails(what: str, stmt: Statement, err: psycopg.Error) -> Refusal:
    detail = getattr(getattr(err, "diag", None), "message_detail", None)
    flat = " ".join(str(err).split())
    return Refusal(f"{what} `{apply.short(stmt.sql)}` fails on a copy of live: {flat}"
                   + (f" ({' '.join(detail.split())})" if detail and detail not in flat else ""))


def _prove(conn: psycopg.Connection, stmt: Statement, what: str) -> None:
    try:
        apply.execute(conn, stmt)
    except psycopg.Error as err:
        raise _fails(what, stmt, err) from err


def _pre_renames(conn: psycopg.Connection, reversed_sql: Sequence[str], statement_timeout_ms: int,
                 lock_timeout_ms: int) -> list[Statement]:
    out = []
    for sql in reversed_sql:
        stmt = Statement(sql, (RENAME_HAZARD,), statement_timeout_ms, lock_timeout_ms, True)
        try:
            apply.execute(conn, stmt)
        except UNDONE:
            continue  # live already has the old name (a way back that stopped midway): the rest proves the result
        except psycopg.Error as err:
            raise _fails("the reversed rename", stmt, err) from err
        out.append(stmt)
    return out


def _removed_rows(live: psycopg.Connection, s_conn: psycopg.Connection, change: enums.Shrink,
                  reversed_sql: Sequence[str]) -> list[tuple[str, int]]:
    """Rows of live holding the removed values, per column as named on S (live names found through the renames)."""
    schema, name = change.name.split(".", 1)
    out = []
    for use in enums.uses(s_conn, change.name):
        column = tuple(use.column.split(".", 2))
        live_column = renames.live_name(reversed_sql, column, "column")
        labels = [renames.live_name(reversed_sql, (schema, name, v), "value")[2] for v in change.removed]
        count = enums.count_removed(live, ".".join(live_column), use.array, labels)
        if count:
            out.append((use.column, count))
    return out


def _pre_enums(conn: psycopg.Connection, live: psycopg.Connection, target: catalog.Snapshot,
               reversed_sql: Sequence[str], exclusions: tuple[Sequence[str], Sequence[str]],
               statement_timeout_ms: int, lock_timeout_ms: int, notes: list[str]) -> list[Statement]:
    out = []
    for change in enums.shrunk(catalog.snapshot(conn, *exclusions), target):
        rows = _removed_rows(live, conn, change, reversed_sql)
        try:
            sql, hazards = enums.recreate(conn, change, target, rows, exclusions)
        except enums.EnumRefused as err:
            raise Refusal(str(err)) from None
        stmt = Statement(sql, hazards, statement_timeout_ms, lock_timeout_ms, True)
        _prove(conn, stmt, f"recreating enum {change.name}")
        out.append(stmt)
        notes.append(f"enum {change.name} is recreated without {', '.join(change.removed)}"
                     + (": rows hold them in " + ", ".join(f"{c} ({n})" for c, n in rows) if rows else
                        " (no row holds them)"))
    return out


def _bookkeeping(target_conninfo: str, exclude_tables: Sequence[str]) -> set[str]:
    """The excluded tables and the sequences they own in the target, quoted as sql_units.relations names them."""
    names = [*exclude_tables, *shadow.owned_sequences(target_conninfo, exclude_tables)]
    return {renames.qualified(n.split(".", 1)) for n in names}


def _generated(s_conninfo: str, target_conninfo: str, exclude_schemas: Sequence[str],
               exclude_tables: Sequence[str], lock_timeout_ms: int, notes: list[str]) -> list[Statement]:
    try:
        planned, more = schema_diff.plan(s_conninfo, target_conninfo, exclude_schemas)
    except schema_diff.SchemaDiffFailed as err:
        raise Refusal(str(err)) from None
    notes.extend(more)
    skip = _bookkeeping(target_conninfo, exclude_tables)
    kept = [s for s in planned if not skip.intersection(sql_units.relations(s.sql))]
    if len(kept) < len(planned):
        notes.append(f"{len(planned) - len(kept)} statement(s) of pg-schema-diff on bookkeeping tables left out")
    return [replace(s, lock_timeout_ms=lock_timeout_ms) for s in kept]


def _plan(live_conninfo: str, target_conninfo: str, admin_conninfo: str, base: WayBack, reversed_sql: Sequence[str],
          statement_timeout_ms: int, lock_timeout_ms: int) -> WayBack:
    xs, xt = base.exclude_schemas, base.exclude_tables
    notes: list[str] = []
    with shadow.scratch(admin_conninfo, SCRATCH_PREFIX) as s_info:
        try:
            shadow.copy_schema(live_conninfo, s_info, exclude_tables=xt)
        except shadow.ShadowError as err:
            raise Refusal(f"the live schema cannot be copied to build the way back: {err}") from None
        with psycopg.connect(s_info, autocommit=True) as conn, reader(live_conninfo) as live:
            copied = catalog.differences(base.live, catalog.snapshot(conn, xs, xt), ("live", "its copy"))
            if copied:
                raise Refusal("a schema-only copy of live does not reproduce it: " + "; ".join(copied))
            pre = _pre_renames(conn, reversed_sql, statement_timeout_ms, lock_timeout_ms)
            reversed_sql = [p.sql for p in pre]
            pre += _pre_enums(conn, live, base.target, reversed_sql, (xs, xt), statement_timeout_ms,
                              lock_timeout_ms, notes)
            generated = _generated(s_info, target_conninfo, xs, xt, lock_timeout_ms, notes)
            for stmt in generated:
                _prove(conn, stmt, "pg-schema-diff's statement")
            missed = catalog.differences(catalog.snapshot(conn, xs, xt), base.target, ("the result", "the target"))
            if missed:
                raise Refusal("the generated way back does not reach the target: " + "; ".join(missed))
    return replace(base, statements=pre + generated, notes=notes)


def way_back(live_conninfo: str, target_conninfo: str, admin_conninfo: str, *, renames: Sequence[str] = (),
             exclude_schemas: Sequence[str] = (), exclude_tables: Sequence[str] = (),
             statement_timeout_ms: int = 60_000, lock_timeout_ms: int = 3_000) -> WayBack:
    """The proven way from live's schema to target's (scratch databases on admin's server), or `refused` saying why."""
    xs, xt = tuple(exclude_schemas), tuple(exclude_tables)
    with reader(live_conninfo) as conn:
        live = catalog.snapshot(conn, xs, xt)
    with psycopg.connect(target_conninfo) as conn:
        target = catalog.snapshot(conn, xs, xt)
    base = WayBack([], catalog.digest(live), catalog.digest(target), [], None, live, target, xs, xt)
    if base.live_digest == base.target_digest:
        return replace(base, notes=["the live schema is already the target's"])
    try:
        return _plan(live_conninfo, target_conninfo, admin_conninfo, base, renames, statement_timeout_ms,
                     lock_timeout_ms)
    except (Refusal, shadow.ShadowError) as err:
        return replace(base, refused=str(err))
