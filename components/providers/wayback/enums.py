"""Enum values added since version N: PostgreSQL cannot drop an enum value, so the type is recreated without them.

pg-schema-diff plans DROP TYPE + CREATE TYPE for this, which cannot run while a column uses the type. Here, in one
transaction: the views in the way are dropped (see views.py), the type is renamed aside and recreated with the
target's labels, every table column using it (also arrays of it) is converted through text, the views are
recreated and the old type is dropped. A column the target does not have is dropped instead (it would be dropped
anyway; converting it could fail on its values). Rows holding a removed value: the conversion makes them NULL
(arrays lose those elements) and the statement carries DELETES_DATA with the counts; on a NOT NULL column that is
refused. Anything else that uses the type (functions, domains, composite types, views with rules of their own) is
refused, named: the old type could not be dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from components.providers.base import scalar
from components.providers.wayback.catalog import Snapshot, excluded
from components.providers.wayback.catalog import qualified as qualified_names
from components.providers.wayback.model import ACCESS_EXCLUSIVE, DELETES_DATA, Hazard
from components.providers.wayback.renames import qualified, quote
from components.providers.wayback.views import View, ViewRefused, dependent

OLD_SUFFIX = "__rollback_old"


class EnumRefused(RuntimeError):
    """An enum cannot be recreated without its new values; the message names what stands in the way."""


@dataclass(frozen=True)
class Shrink:
    """An enum whose target labels are a strict subset of its live ones."""

    name: str  # "schema.type"
    labels: tuple[str, ...]  # the target's, in its order
    removed: tuple[str, ...]


@dataclass(frozen=True)
class Use:
    """A table column of the enum's type (or an array of it)."""

    column: str  # "schema.table.column"
    array: bool
    not_null: bool
    default: str | None  # as PostgreSQL prints it, schema-qualified


def shrunk(live: Snapshot, target: Snapshot) -> list[Shrink]:
    """The enums that lost values between live and target (values added since N)."""
    out = []
    for name, detail in sorted((live.get("enums") or {}).items()):
        wanted = (target.get("enums") or {}).get(name)
        if wanted is None:
            continue
        have, labels = list(detail.get("labels") or ()), list(wanted.get("labels") or ())
        if set(labels) < set(have):
            out.append(Shrink(name, tuple(labels), tuple(v for v in have if v not in labels)))
    return out


def _split(name: str) -> tuple[str, str]:
    schema, _, rest = name.partition(".")
    return schema, rest


USES = ("SELECT n.nspname || '.' || c.relname || '.' || a.attname, a.atttypid = t.typarray, a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid) FROM pg_type t JOIN pg_namespace tn ON tn.oid = t.typnamespace "
        "JOIN pg_attribute a ON a.atttypid IN (t.oid, t.typarray) AND a.attnum > 0 AND NOT a.attisdropped "
        "AND a.attinhcount = 0 JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE tn.nspname = %s "
        "AND t.typname = %s AND c.relkind IN ('r', 'p', 'f') ORDER BY 1")
# What else depends on the type or its array: not table columns, their defaults, the array type itself, or the
# views recreated around the change (their rules and columns).
OTHERS = ("SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_type t JOIN pg_namespace tn "
          "ON tn.oid = t.typnamespace JOIN pg_depend d ON d.refclassid = 'pg_type'::regclass AND d.refobjid IN "
          "(t.oid, t.typarray) AND d.deptype = 'n' LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND "
          "c.oid = d.objid LEFT JOIN pg_rewrite w ON d.classid = 'pg_rewrite'::regclass AND w.oid = d.objid "
          "WHERE tn.nspname = %s AND t.typname = %s AND d.classid <> 'pg_attrdef'::regclass AND "
          "NOT coalesce(c.relkind IN ('r', 'p', 'f') AND d.objsubid > 0, false) AND "
          "NOT coalesce(c.oid = ANY(%s::oid[]), false) AND NOT coalesce(w.ev_class = ANY(%s::oid[]), false) "
          "ORDER BY 1")


def uses(conn: psycopg.Connection, enum: str) -> list[Use]:
    """The table columns using the enum (or an array of it)."""
    with qualified_names(conn):
        rows = conn.execute(USES, _split(enum)).fetchall()
    return [Use(str(r[0]), bool(r[1]), bool(r[2]), r[3]) for r in rows]


def other_uses(conn: psycopg.Connection, enum: str, in_the_way: Sequence[View] = ()) -> list[str]:
    """Objects other than table columns and the views in the way that use the enum (functions, domains, ...)."""
    oids = [v.oid for v in in_the_way]
    return [str(r[0]) for r in conn.execute(OTHERS, (*_split(enum), oids, oids)).fetchall()]


def count_removed(conn: psycopg.Connection, column: str, array: bool, removed_labels: Sequence[str]) -> int:
    """How many rows of column ('schema.table.column') hold a removed value (an element of it, for arrays)."""
    schema, table, name = column.split(".", 2)
    test = "{c}::text[] && %s::text[]" if array else "{c}::text = ANY(%s::text[])"
    query = sql.SQL("SELECT count(*) FROM {t} WHERE " + test).format(t=sql.Identifier(schema, table),
                                                                      c=sql.Identifier(name))
    return int(scalar(conn.execute(query, (list(removed_labels),))))


def rows_using(conn: psycopg.Connection, enum: str, removed_labels: Sequence[str]) -> list[tuple[str, int]]:
    """Each column ('schema.table.column') with rows holding a removed value, and how many rows."""
    counts = [(u.column, count_removed(conn, u.column, u.array, removed_labels)) for u in uses(conn, enum)]
    return [(column, n) for column, n in counts if n]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _using(use: Use, type_sql: str, removed: Sequence[str], lossy: bool) -> str:
    """The USING expression converting a column through text (removed values dropped when lossy)."""
    column = quote(use.column.split(".", 2)[2])
    if use.array:
        text = f"{column}::text[]"
        for label in removed if lossy else ():
            text = f"array_remove({text}, {_literal(label)})"
        return f"{text}::{type_sql}[]"
    if not lossy:
        return f"{column}::text::{type_sql}"
    labels = ", ".join(_literal(v) for v in removed)
    return f"CASE WHEN {column}::text IN ({labels}) THEN NULL ELSE {column}::text::{type_sql} END"


# Triggers and policies whose definitions name a column block ALTER COLUMN ... TYPE: they are dropped before the
# conversion and recreated from their live definitions after it.
COLUMN_DEPENDENTS = """
SELECT DISTINCT 'trigger', t.oid::int8, format('DROP TRIGGER %%I ON %%I.%%I', t.tgname, n.nspname, c.relname),
       pg_get_triggerdef(t.oid)
  FROM pg_depend d JOIN pg_trigger t ON d.classid = 'pg_trigger'::regclass AND d.objid = t.oid
  JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = to_regclass(%(table)s) AND d.refobjsubid = %(attnum)s
       AND NOT t.tgisinternal
UNION
SELECT DISTINCT 'policy', p.oid::int8, format('DROP POLICY %%I ON %%I.%%I', p.polname, n.nspname, c.relname),
       format('CREATE POLICY %%I ON %%I.%%I AS %%s FOR %%s TO %%s', pp.policyname, pp.schemaname, pp.tablename,
              pp.permissive, pp.cmd, (SELECT string_agg(CASE WHEN r = 'public' THEN 'PUBLIC' ELSE quote_ident(r) END,
                                                       ', ') FROM unnest(pp.roles) r))
       || coalesce(' USING (' || pp.qual || ')', '') || coalesce(' WITH CHECK (' || pp.with_check || ')', '')
  FROM pg_depend d JOIN pg_policy p ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
  JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_policies pp ON pp.schemaname = n.nspname AND pp.tablename = c.relname AND pp.policyname = p.polname
 WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = to_regclass(%(table)s) AND d.refobjsubid = %(attnum)s
"""


def column_dependents(conn: psycopg.Connection, column: str) -> list[tuple[str, int, str, str]]:
    """(kind, oid, drop SQL, create SQL) of the triggers and policies that depend on a column."""
    schema, table, name = column.split(".", 2)
    rel = qualified((schema, table))
    attnum = scalar(conn.execute("SELECT attnum FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = %s",
                                 (rel, name)))
    return [(str(k), int(o), str(d), str(c))
            for k, o, d, c in conn.execute(COLUMN_DEPENDENTS, {"table": rel, "attnum": attnum}).fetchall()]


def recreate(conn: psycopg.Connection, change: Shrink, target: Snapshot, rows: Sequence[tuple[str, int]],
             exclusions: tuple[Sequence[str], Sequence[str]] = ((), ())) -> tuple[str, tuple[Hazard, ...]]:
    """(SQL run as one transaction, hazards) recreating the enum with the target's labels; else EnumRefused."""
    found = uses(conn, change.name)
    what = f"enum {change.name} cannot drop value(s) {', '.join(map(_literal, change.removed))}"
    schema, name = _split(change.name)
    try:
        in_the_way = dependent(conn, schema, name)
    except ViewRefused as err:
        raise EnumRefused(f"{what}: {err}") from None
    blocked = other_uses(conn, change.name, in_the_way)
    if blocked:
        raise EnumRefused(f"{what} by recreating the type: {'; '.join(blocked)} use it (drop or change it first)")
    counts = dict(rows)
    strict = [f"{c} ({n} rows)" for c, n in rows if any(u.column == c and u.not_null and not u.array for u in found)]
    if strict:
        raise EnumRefused(f"{what}: NOT NULL column(s) {', '.join(strict)} hold them")
    type_sql = qualified((schema, name))
    columns = target.get("columns") or {}
    labels = ", ".join(_literal(v) for v in change.labels)
    out = [v.drop() for v in reversed(in_the_way)]
    blockers = list({dep[1]: dep for use in found if use.column in columns or excluded(use.column, *exclusions)
                     for dep in column_dependents(conn, use.column)}.values())
    out += [drop for _, _, drop, _ in blockers]
    out += [f"ALTER TYPE {type_sql} RENAME TO {quote(name[:63 - len(OLD_SUFFIX)] + OLD_SUFFIX)}",
            f"CREATE TYPE {type_sql} AS ENUM ({labels})"]
    hazards: list[Hazard] = [Hazard(ACCESS_EXCLUSIVE, f"drops and recreates {'materialized ' * v.materialized}view "
                                    f"{v.name}" + (" (recomputing it)" if v.materialized else ""))
                             for v in in_the_way]
    for use in found:
        t_schema, table, column = use.column.split(".", 2)
        alter = f"ALTER TABLE {qualified((t_schema, table))}"
        kept = excluded(use.column, *exclusions)  # never compared, never dropped: converted, its default kept
        if use.column not in columns and not kept:
            out.append(f"{alter} DROP COLUMN {quote(column)}")
            hazards.append(Hazard(DELETES_DATA, f"drops column {use.column} (not in the target; it uses enum "
                                  f"{change.name})"))
            continue
        if use.default:
            out.append(f"{alter} ALTER COLUMN {quote(column)} DROP DEFAULT")
        lossy = counts.get(use.column, 0) > 0
        out.append(f"{alter} ALTER COLUMN {quote(column)} TYPE {type_sql}{'[]' if use.array else ''} "
                   f"USING {_using(use, type_sql, change.removed, lossy)}")
        default = use.default if kept else columns[use.column].get("default")
        if default:
            out.append(f"{alter} ALTER COLUMN {quote(column)} SET DEFAULT {default}")
        hazards.append(Hazard(ACCESS_EXCLUSIVE, f"rewrites {t_schema}.{table} under an ACCESS EXCLUSIVE lock "
                              f"to convert {use.column} to the recreated enum {change.name}"))
        if lossy:
            hazards.append(Hazard(DELETES_DATA, f"{counts[use.column]} row(s) of {use.column} hold removed value(s) "
                                  f"{', '.join(map(_literal, change.removed))} of enum {change.name}: "
                                  + ("those elements are removed" if use.array else "they become NULL")))
    out += [sql for v in in_the_way for sql in v.create()]
    out += [create for _, _, _, create in blockers]
    hazards += [Hazard(ACCESS_EXCLUSIVE, f"drops and recreates {kind} {create.split(' ON ')[0].split()[-1]} "
                       "(it depends on a converted column)") for kind, _, _, create in blockers]
    comment = ((target.get("enums") or {}).get(change.name) or {}).get("comment")
    if comment:
        out.append(f"COMMENT ON TYPE {type_sql} IS {_literal(str(comment))}")
    out.append(f"DROP TYPE {qualified((schema, name[:63 - len(OLD_SUFFIX)] + OLD_SUFFIX))}")
    return ";\n".join(out), tuple(hazards)
