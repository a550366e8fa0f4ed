"""Data loss from what the SQL does: each statement of a step classified from PostgreSQL's own parse tree (pglast),
resolved against the live catalog and counted now.

classify(sql) reads one file without a database; each finding is a plain dataclass:
  Drop        DROP TABLE / SCHEMA / TYPE / DOMAIN / SEQUENCE / EXTENSION, ALTER TABLE … DROP COLUMN; CASCADE (and what
              a drop takes along anyway: partitions, extension members) is resolved through pg_depend to the tables,
              columns and sequences it removes
  TypeChange  ALTER TABLE … ALTER COLUMN … TYPE: narrowing, numeric scale, text → number, any USING
  Truncate    TRUNCATE (CASCADE: every table whose foreign keys reach it)
  RowChange   DELETE (the rows its WHERE matches now), UPDATE of existing columns (matched rows holding a value)
  CannotTell  dynamic SQL (DO, EXECUTE, CALL, SELECT of a volatile function) and what cannot be counted
              (WHERE CURRENT OF, upserts, MERGE, DROP OWNED, data-modifying WITH)

measure(conn, files) turns them into Loss rows (kind, object, what goes, how many now) in two round trips however many
files and statements: one catalog query resolves every name and dependency, one read-only query counts everything.
Counting never changes data (a read-only transaction, rolled back) and never returns a value: only counts and names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from pglast import ast, parser
from pglast.enums.nodes import CmdType, OnConflictAction
from pglast.enums.parsenodes import AlterTableType, DropBehavior, ObjectType
from pglast.enums.primnodes import SubLinkType
from pglast.stream import RawStream
from pglast.visitors import Visitor

CANNOT_TELL = "cannot tell"
_DROPS = {ObjectType.OBJECT_TABLE: "table", ObjectType.OBJECT_SEQUENCE: "sequence", ObjectType.OBJECT_SCHEMA: "schema",
          ObjectType.OBJECT_TYPE: "type", ObjectType.OBJECT_DOMAIN: "type", ObjectType.OBJECT_EXTENSION: "extension"}
# Volatile built-ins a migration calls for their harmless effect (locks, settings, waits, notifications).
HARMLESS = frozenset({"set_config", "current_setting", "pg_sleep", "pg_notify", "pg_advisory_lock",
                      "pg_advisory_lock_shared", "pg_advisory_unlock", "pg_advisory_unlock_shared",
                      "pg_advisory_unlock_all", "pg_advisory_xact_lock", "pg_advisory_xact_lock_shared",
                      "pg_try_advisory_lock", "pg_try_advisory_lock_shared", "pg_try_advisory_xact_lock",
                      "pg_try_advisory_xact_lock_shared"})
_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")
KEPT_ROW = "rollback_kept_row()"  # stands for what a keep copies in a Keep's SELECT (components.providers.keep)


# --- findings: what one statement does, read from its parse tree ---------------------------------------------------

@dataclass(frozen=True)
class Drop:
    """A DROP (or ALTER TABLE … DROP COLUMN) of `name`; `name` as the catalog lookup takes it (quoted parts)."""

    what: str  # table, column, schema, type, sequence, extension
    name: str
    column: str | None = None
    cascade: bool = False
    only: bool = False  # ALTER TABLE ONLY: the column of that table alone


@dataclass(frozen=True)
class TypeChange:
    """ALTER COLUMN … TYPE: the new type as written, its modifiers, and how values get there."""

    table: str
    column: str
    new_type: str
    typmods: tuple[int, ...] = ()
    using: str | None = None  # None: the default cast; "cast": USING casts the column itself; "expression": any other
    only: bool = False


@dataclass(frozen=True)
class Truncate:
    """TRUNCATE of one table (CASCADE: and of every table whose foreign keys reach it)."""

    table: str
    only: bool = False
    cascade: bool = False


@dataclass(frozen=True)
class RowChange:
    """DELETE or UPDATE: the count of the rows it matches, deparsed from the statement's own relation and WHERE."""

    what: str  # delete, update
    table: str
    count_sql: str  # SELECT count(*) FROM <the statement's relation> (with its WITH), no WHERE yet
    where: str | None  # the statement's WHERE (through EXISTS over its USING/FROM list)
    columns: tuple[str, ...] = ()  # UPDATE: the columns it sets
    keep_sql: str = field(default="", compare=False)  # count_sql with KEPT_ROW for count(*): copies the rows aside
    ref: str = field(default="", compare=False)  # the name the statement gives its rows (alias, else the table)


@dataclass(frozen=True)
class CannotTell:
    """A statement whose effect on data is known only when it runs (dynamic) or cannot be counted beforehand."""

    what: str
    dynamic: bool = True
    functions: tuple[tuple[str | None, str], ...] = ()  # SELECT f(): harmless when every one is found and not volatile


Finding = Drop | TypeChange | Truncate | RowChange | CannotTell


def _deparse(node: ast.Node) -> str:
    return str(RawStream()(node))


def _quoted(*parts: str | None) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts if p)


def _shown(*parts: str | None) -> str:
    """A name as a reader writes it (quoted only where needed)."""
    return ".".join(p if _PLAIN.match(p) else '"' + p.replace('"', '""') + '"' for p in parts if p)


def _written(quoted: str) -> str:
    """A name kept quoted for the catalog (`"public"."t"`), as a reader writes it (public.t)."""
    return _shown(*[p.replace('""', '"') for p in re.findall(r'"((?:[^"]|"")*)"', quoted)]) or quoted


def _relation(rel: ast.RangeVar) -> str:
    return _quoted(rel.schemaname, rel.relname)


def _strings(obj: Any) -> list[str]:
    items = obj if isinstance(obj, tuple | list) else (obj,)
    return [str(getattr(p, "sval", "")) for p in items]


def _self_cast(expr: ast.Node | None, column: str) -> bool:
    """Whether a USING expression only casts the column itself (`c::text::t`): the conversion is the type change's."""
    while isinstance(expr, ast.TypeCast):
        expr = expr.arg
    return isinstance(expr, ast.ColumnRef) and _strings(expr.fields)[-1:] == [column]


def _typmods(type_name: ast.TypeName) -> tuple[int, ...]:
    mods = []
    for mod in type_name.typmods or ():
        value = getattr(getattr(mod, "val", None), "ival", None)
        if not isinstance(value, int):
            return ()
        mods.append(value)
    return tuple(mods)


class _Functions(Visitor):
    """The functions a statement calls, as (schema or None, name)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str | None, str]] = []

    def visit_FuncCall(self, _ancestors: object, node: ast.FuncCall) -> None:
        parts = _strings(node.funcname)
        self.found.append((parts[-2] if len(parts) > 1 else None, parts[-1]))


def _called(stmt: ast.Node) -> tuple[tuple[str | None, str], ...]:
    found = _Functions()
    found(stmt)
    return tuple(dict.fromkeys(f for f in found.found if not (f[0] in (None, "pg_catalog") and f[1] in HARMLESS)))


def _modifying_with(stmt: ast.DeleteStmt | ast.UpdateStmt) -> bool:
    ctes = stmt.withClause.ctes if stmt.withClause else ()
    return any(isinstance(getattr(c, "ctequery", None), ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt
                          | ast.MergeStmt) for c in ctes or ())


def _row_change(stmt: ast.DeleteStmt | ast.UpdateStmt) -> Finding:
    verb = "DELETE" if isinstance(stmt, ast.DeleteStmt) else "UPDATE"
    if _modifying_with(stmt):
        return CannotTell(f"{verb} with a data-modifying WITH", dynamic=False)
    if stmt.relation is None or isinstance(stmt.whereClause, ast.CurrentOfExpr):
        return CannotTell(f"{verb} … WHERE CURRENT OF", dynamic=False)
    others = stmt.usingClause if isinstance(stmt, ast.DeleteStmt) else stmt.fromClause
    count = ast.SelectStmt(targetList=(ast.ResTarget(val=ast.FuncCall(funcname=(ast.String("count"),),
                                                                         agg_star=True)),),
                           fromClause=(stmt.relation,), withClause=stmt.withClause)
    where: str | None = _deparse(stmt.whereClause) if stmt.whereClause is not None else None
    if others:
        where = _deparse(ast.SubLink(subLinkType=SubLinkType.EXISTS_SUBLINK,
                                     subselect=ast.SelectStmt(fromClause=others, whereClause=stmt.whereClause)))
    columns = () if isinstance(stmt, ast.DeleteStmt) else \
        tuple(dict.fromkeys(str(t.name) for t in stmt.targetList or () if getattr(t, "name", None)))
    marker = ast.SelectStmt(targetList=(ast.ResTarget(val=ast.FuncCall(funcname=(ast.String(KEPT_ROW[:-2]),))),),
                            fromClause=(stmt.relation,), withClause=stmt.withClause)
    alias = stmt.relation.alias.aliasname if stmt.relation.alias else stmt.relation.relname
    return RowChange(verb.lower(), _relation(stmt.relation), _deparse(count), where, columns, _deparse(marker),
                     _quoted(alias))


def _drop(stmt: ast.DropStmt) -> list[Finding]:
    what = _DROPS.get(stmt.removeType) if stmt.removeType is not None else None
    if what is None:
        return []  # views, indexes, functions, …: no stored values of their own
    cascade = stmt.behavior == DropBehavior.DROP_CASCADE
    out: list[Finding] = []
    for obj in stmt.objects or ():
        if what == "type":
            name = _deparse(obj)
        elif what in ("schema", "extension"):
            name = str(getattr(obj, "sval", ""))
        else:
            name = _quoted(*_strings(obj))
        out.append(Drop(what, name, cascade=cascade))
    return out


def _alter_table(stmt: ast.AlterTableStmt) -> list[Finding]:
    if stmt.objtype != ObjectType.OBJECT_TABLE or stmt.relation is None:
        return []
    table, only = _relation(stmt.relation), not stmt.relation.inh
    out: list[Finding] = []
    for cmd in stmt.cmds or ():
        if cmd.subtype == AlterTableType.AT_DropColumn:
            out.append(Drop("column", table, str(cmd.name), cmd.behavior == DropBehavior.DROP_CASCADE, only))
        elif cmd.subtype == AlterTableType.AT_AlterColumnType and isinstance(cmd.def_, ast.ColumnDef) \
                and cmd.def_.typeName is not None:
            type_name = cmd.def_.typeName
            using = cmd.def_.raw_default
            how = None if using is None else "cast" if _self_cast(using, str(cmd.name)) else "expression"
            out.append(TypeChange(table, str(cmd.name), _deparse(type_name), _typmods(type_name), how, only))
    return out


def _statement(stmt: ast.Node) -> list[Finding]:
    """What one top-level statement can destroy."""
    if isinstance(stmt, ast.DropStmt):
        return _drop(stmt)
    if isinstance(stmt, ast.AlterTableStmt):
        return _alter_table(stmt)
    if isinstance(stmt, ast.TruncateStmt):
        cascade = stmt.behavior == DropBehavior.DROP_CASCADE
        return [Truncate(_relation(r), not r.inh, cascade) for r in stmt.relations or ()]
    if isinstance(stmt, ast.DeleteStmt | ast.UpdateStmt):
        return [_row_change(stmt)]
    if isinstance(stmt, ast.DoStmt):
        return [CannotTell("a DO block")]
    if isinstance(stmt, ast.ExecuteStmt):
        return [CannotTell(f"EXECUTE {stmt.name}")]
    if isinstance(stmt, ast.CallStmt) and stmt.funccall is not None:
        return [CannotTell(f"CALL {_shown(*_strings(stmt.funccall.funcname))}()")]
    if isinstance(stmt, ast.SelectStmt) and stmt.intoClause is None:
        called = _called(stmt)
        names = ", ".join(f"{_shown(s, n)}()" for s, n in called)
        return [CannotTell(f"SELECT {names}", functions=called)] if called else []
    if isinstance(stmt, ast.InsertStmt) and stmt.onConflictClause is not None \
            and stmt.onConflictClause.action == OnConflictAction.ONCONFLICT_UPDATE:
        return [CannotTell("INSERT … ON CONFLICT DO UPDATE", dynamic=False)]
    if isinstance(stmt, ast.MergeStmt) and any(w.commandType != CmdType.CMD_INSERT
                                               for w in stmt.mergeWhenClauses or ()):
        return [CannotTell("MERGE", dynamic=False)]
    if isinstance(stmt, ast.DropOwnedStmt):
        return [CannotTell("DROP OWNED", dynamic=False)]
    return []


@functools.lru_cache(maxsize=4096)
def classify(sql: str) -> tuple[Finding, ...]:
    """The findings of one file's statements, in order; () for a file PostgreSQL's parser rejects (the server rejects
    it too when it runs, before it changes anything)."""
    try:
        raw = parser.parse_sql(sql)
    except parser.ParseError:
        return ()
    return tuple(f for item in raw if item.stmt is not None for f in _statement(item.stmt))


# --- what a finding destroys now -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Loss:
    """One thing a step destroys: its kind, the object the statement names, what goes with it, and how many now.

    rows None: not there now (unknown None), or not countable beforehand (unknown says why)."""

    file: str
    kind: str  # drop table|column|schema|type|sequence|extension, type change, truncate, delete, update, cannot tell
    object: str
    drops: str
    rows: int | None
    unit: str = "rows"
    unknown: str | None = None
    dynamic: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The plan's form (JSON-ready); `unknown` and `dynamic` only when set."""
        return {k: v for k, v in asdict(self).items() if k not in ("unknown", "dynamic") or v}


def phrase(d: Mapping[str, Any]) -> str:
    """What a loss does, for people: `drops column items.tag`, `deletes rows of table t`, …"""
    kind, obj, drops = d.get("kind", "drop"), d.get("object"), d["drops"]
    via = f" (with {obj})" if obj and obj != drops else ""
    if kind == CANNOT_TELL:
        return f"runs {drops}"
    if kind == "truncate":
        return f"truncates {drops}{via}"
    if kind in ("delete", "update"):
        return f"{'deletes' if kind == 'delete' else 'overwrites'} {drops}"
    if kind == "type change":
        return f"changes {drops}"
    return f"drops {drops}{via}"


def amount(d: Mapping[str, Any]) -> str:
    """How many now: `3 rows`, `not there now`, `cannot tell: …`."""
    if d.get("rows") is None:
        return f"cannot tell: {d['unknown']}" if d.get("unknown") else "not there now"
    unit = str(d.get("unit") or "rows")
    if d["rows"] == 1 and unit.startswith(("values", "positions")):
        unit = unit.replace("values", "value", 1).replace("positions", "position", 1)
    return f"{d['rows']} {unit}"


def at_risk(d: Mapping[str, Any], *, allow_dynamic: bool = False) -> bool:
    """Whether a loss stops the step without allow_data_loss: rows now, or cannot tell (dynamic SQL only when the
    stack's rollback:dataLoss.dynamicSql is not `allow`)."""
    if d.get("rows"):
        return True
    return d.get("rows") is None and bool(d.get("unknown")) and not (allow_dynamic and d.get("dynamic"))


def message(d: Mapping[str, Any]) -> str:
    """`0002_tags.down.sql drops column items.tag (1 rows)`: the pre-check's words."""
    return f"{d['file']} {phrase(d)} ({amount(d)})"


# The catalog query: every name of every finding resolved at once. req rows share a finding's index i; the answer is
# (i, what, relation, column, info) rows: root (a drop's object exists), table/column/sequence (what a drop removes,
# through pg_depend: with CASCADE its normal dependents too; a serial's or identity's sequence only without its column,
# info.owner naming that column), truncate (the table and, with CASCADE, every table whose
# foreign keys reach it), attribute (a column's type now, and the new type's), relation, function (volatile or not).
RESOLVE = """
WITH RECURSIVE
req AS (SELECT * FROM unnest(%s::int[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bool[])
                      AS r(i, kind, a, b, c, cascade)),
root AS (
  SELECT r.i, r.cascade, 'pg_class'::regclass::oid AS classid, k.oid AS objid, 0 AS subid, k.oid::regclass::text AS name
    FROM req r JOIN pg_class k ON k.oid = to_regclass(r.a) WHERE r.kind = 'relation' AND r.b IS NULL
  UNION ALL
  SELECT r.i, r.cascade, 'pg_class'::regclass::oid, a.attrelid, a.attnum::int,
         a.attrelid::regclass::text || '.' || quote_ident(a.attname)
    FROM req r JOIN pg_attribute a ON a.attrelid = to_regclass(r.a) AND a.attname = r.b AND a.attnum > 0
         AND NOT a.attisdropped WHERE r.kind = 'relation' AND r.b IS NOT NULL
  UNION ALL
  SELECT r.i, r.cascade, 'pg_namespace'::regclass::oid, n.oid, 0, quote_ident(n.nspname)
    FROM req r JOIN pg_namespace n ON n.nspname = r.a WHERE r.kind = 'schema'
  UNION ALL
  SELECT r.i, r.cascade, 'pg_type'::regclass::oid, t.oid, 0, format_type(t.oid, NULL)
    FROM req r JOIN pg_type t ON t.oid = to_regtype(r.a) WHERE r.kind = 'type'
  UNION ALL
  SELECT r.i, r.cascade, 'pg_extension'::regclass::oid, e.oid, 0, quote_ident(e.extname)
    FROM req r JOIN pg_extension e ON e.extname = r.a WHERE r.kind = 'extension'),
walk(i, cascade, classid, objid, subid) AS (
  SELECT i, cascade, classid, objid, subid FROM root
  UNION
  SELECT w.i, w.cascade, d.classid, d.objid, d.objsubid FROM walk w JOIN pg_depend d
      ON d.refclassid = w.classid AND d.refobjid = w.objid AND (w.subid = 0 OR d.refobjsubid = w.subid)
   WHERE d.deptype IN ('a', 'i', 'e', 'x') OR (w.cascade AND d.deptype = 'n')),
trunc(i, rel, bare, root) AS (
  SELECT r.i, to_regclass(r.a)::oid, r.b = 'only', true FROM req r
   WHERE r.kind = 'truncate' AND to_regclass(r.a) IS NOT NULL
  UNION
  SELECT t.i, k.conrelid, true, false FROM trunc t JOIN req r ON r.i = t.i AND r.kind = 'truncate' AND r.cascade
    JOIN pg_constraint k ON k.confrelid = t.rel AND k.contype = 'f')
SELECT i, 'root', name, NULL, NULL::jsonb FROM root
UNION ALL
SELECT w.i, CASE k.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END, k.oid::regclass::text, NULL,
       (SELECT jsonb_build_object('owner', 'column ' || o.refobjid::regclass::text || '.' || quote_ident(a.attname))
          FROM pg_depend o JOIN pg_attribute a ON a.attrelid = o.refobjid AND a.attnum = o.refobjsubid
         WHERE k.relkind = 'S' AND o.classid = 'pg_class'::regclass AND o.objid = k.oid
               AND o.refclassid = 'pg_class'::regclass AND o.deptype IN ('a', 'i') LIMIT 1)
  FROM walk w JOIN pg_class k ON w.classid = 'pg_class'::regclass AND k.oid = w.objid
 WHERE w.subid = 0 AND (k.relkind IN ('r', 'p') OR k.relkind = 'S' AND NOT EXISTS (
       SELECT FROM pg_depend o JOIN walk x ON x.i = w.i AND x.classid = o.refclassid AND x.objid = o.refobjid
              AND (x.subid = 0 OR x.subid = o.refobjsubid)
        WHERE o.classid = 'pg_class'::regclass AND o.objid = k.oid AND o.deptype IN ('a', 'i')))
UNION ALL
SELECT w.i, 'column', k.oid::regclass::text, quote_ident(a.attname), NULL
  FROM walk w JOIN pg_class k ON w.classid = 'pg_class'::regclass AND k.oid = w.objid
  JOIN pg_attribute a ON a.attrelid = k.oid AND a.attnum = w.subid AND NOT a.attisdropped
 WHERE w.subid > 0 AND k.relkind IN ('r', 'p') AND NOT EXISTS (
       SELECT FROM walk x WHERE x.i = w.i AND x.classid = w.classid AND x.objid = w.objid AND x.subid = 0)
UNION ALL
SELECT i, 'truncate', rel::regclass::text, NULL, jsonb_build_object('only', bare, 'root', root) FROM trunc
UNION ALL
SELECT r.i, 'attribute', a.attrelid::regclass::text, quote_ident(a.attname), jsonb_build_object(
         'old', format_type(a.atttypid, NULL), 'old_full', format_type(a.atttypid, a.atttypmod),
         'typmod', a.atttypmod, 'category', t.typcategory, 'same', a.atttypid = n.oid,
         'new', format_type(n.oid, NULL), 'new_category', n.typcategory, 'new_kind', n.typtype)
  FROM req r JOIN pg_attribute a ON a.attrelid = to_regclass(r.a) AND a.attname = r.b AND a.attnum > 0
       AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type n ON n.oid = to_regtype(r.c)
 WHERE r.kind = 'attribute'
UNION ALL
SELECT r.i, 'relation', k.oid::regclass::text, NULL, NULL FROM req r JOIN pg_class k ON k.oid = to_regclass(r.a)
 WHERE r.kind = 'table'
UNION ALL
SELECT r.i, 'function', r.a, r.b, jsonb_build_object('volatile', bool_or(p.provolatile = 'v' OR p.prokind = 'p'))
  FROM req r JOIN pg_proc p ON p.proname = r.a AND CASE WHEN r.b IS NULL THEN pg_function_is_visible(p.oid)
       ELSE p.pronamespace = to_regnamespace(r.b) END
 WHERE r.kind = 'function' GROUP BY r.i, r.a, r.b
"""

_Req = tuple[int, str, str | None, str | None, str | None, bool]
_Row = tuple[int, str, str | None, str | None, dict[str, Any] | None]


def _requests(i: int, f: Finding) -> list[_Req]:
    if isinstance(f, Drop):
        kind = "relation" if f.what in ("table", "sequence", "column") else f.what
        return [(i, kind, f.name, f.column, None, f.cascade)]
    if isinstance(f, TypeChange):
        return [(i, "attribute", f.table, f.column, f.new_type, False)]
    if isinstance(f, Truncate):
        return [(i, "truncate", f.table, "only" if f.only else None, None, f.cascade)]
    if isinstance(f, RowChange):
        return [(i, "table", f.table, None, None, False)] + [(i, "attribute", f.table, c, None, False)
                                                              for c in f.columns]
    return [(i, "function", name, schema, None, False) for schema, name in f.functions]


INT_RANGE = {"smallint": (-(2**15), 2**15 - 1), "integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
# (old, new) conversions that keep every value (new without modifiers)
WIDENING = {("smallint", "integer"), ("smallint", "bigint"), ("smallint", "numeric"), ("smallint", "real"),
            ("smallint", "double precision"), ("integer", "bigint"), ("integer", "numeric"),
            ("integer", "double precision"), ("bigint", "numeric"), ("real", "double precision"),
            ("date", "timestamp without time zone"), ("date", "timestamp with time zone"),
            ("timestamp without time zone", "timestamp with time zone")}
TEXT_TYPES = ("text", "character varying")
CANONICAL_INT = "^(0|-?[1-9][0-9]{0,18})$"


def _numeric_mods(typmod: int) -> tuple[int, int] | None:
    """(precision, scale) of a numeric column's atttypmod; None when unconstrained."""
    if typmod < 4:
        return None
    bits = typmod - 4
    scale = bits & 0x7FF
    return bits >> 16, scale - 0x800 if scale & 0x400 else scale


def value_test(change: TypeChange, col: str, info: Mapping[str, Any]) -> tuple[str | None, str]:
    """(predicate true for a value the change alters or cannot convert, or None when none can be; what it counts)."""
    old, new, mods = str(info["old"]), info.get("new"), change.typmods
    every = f"{col} IS NOT NULL", "values (which change cannot be told: every value counted)"
    if change.using == "expression":
        return f"{col} IS NOT NULL", "values rewritten by USING"
    if new is None:
        return every[0], "values (the new type does not exist now: every value counted)"
    if info.get("same"):  # the same type: only its modifiers can narrow it
        if not mods:
            return None, "values"
        typmod = int(info["typmod"])
        if new in ("character varying", "character") and len(mods) == 1:
            if 0 <= typmod - 4 <= mods[0]:
                return None, "values"
            return f"char_length({col}) > {mods[0]}", f"values longer than {mods[0]} characters"
        if new == "numeric":
            was = _numeric_mods(typmod)
            p, s = mods[0], mods[1] if len(mods) > 1 else 0
            if was and s >= was[1] and p - s >= was[0] - was[1]:
                return None, "values"
        else:
            return every
    if (old, new) in WIDENING and not mods or new in TEXT_TYPES and not mods:
        return None, "values"
    if new in ("character varying", "character") and len(mods) == 1:
        text = col if info.get("category") == "S" else f"{col}::text"
        return f"char_length({text}) > {mods[0]}", f"values longer than {mods[0]} characters"
    number = info.get("category") == "N"
    if new == "numeric" and mods and number:
        p, s = mods[0], mods[1] if len(mods) > 1 else 0
        v = f"({col})::numeric"
        return (f"{v} <> 'NaN' AND (round({v}, {s}) <> {v} OR abs({v}) >= 1e{p - s})",
                f"values rounded to scale {s} or beyond precision {p}")
    if new in INT_RANGE and number:
        lo, hi = INT_RANGE[new]
        v = f"({col})::numeric"
        return f"NOT ({v} = round({v}) AND {v} BETWEEN {lo} AND {hi})", f"values that are not {new}s"
    if new in INT_RANGE and info.get("category") == "S":
        lo, hi = INT_RANGE[new]
        return (f"CASE WHEN {col} ~ '{CANONICAL_INT}' THEN ({col})::numeric NOT BETWEEN {lo} AND {hi} ELSE true END",
                f"values that are not the text of {new}s (they change or fail)")
    if new == "date" and old in ("timestamp without time zone", "timestamp with time zone"):
        return f"{col} <> date_trunc('day', {col})", "values with a time of day"
    if info.get("new_kind") == "e" and info.get("category") in ("E", "S"):
        return f"{col}::text <> ALL (enum_range(NULL::{new})::text[])", f"values that are not labels of {new}"
    return every


@dataclass
class _Count:
    """A loss waiting for its count (sql None: known without counting); owner: the column a sequence belongs to."""

    loss: Loss
    sql: str | None
    owner: str | None = None
    keep: Keep | None = None


@dataclass(frozen=True)
class Keep:
    """The values a loss destroys as rows to copy aside first: `select` with KEPT_ROW in place of what is copied, its
    rows named `ref`; `columns` (quoted) of `relation`, or None for whole rows; `overwrites`: the values stay
    but change (UPDATE, a type change), so what they become is kept too."""

    relation: str
    columns: tuple[str, ...] | None
    select: str
    ref: str = "kept_row"
    overwrites: bool = False


def _only(only: bool) -> str:
    return "ONLY " if only else ""


def _drop_losses(file: str, f: Drop, rows: list[_Row]) -> list[_Count]:
    noun = f.what
    roots = [r for r in rows if r[1] == "root"]
    written = _written(f.name) if f.what in ("table", "sequence", "column") else \
        _shown(f.name) if f.what in ("schema", "extension") else f.name
    obj = f"{noun} {roots[0][2] if roots else written + ('.' + _shown(f.column) if f.column else '')}"
    if not roots:
        return [_Count(Loss(file, f"drop {noun}", obj, obj, None), None)]
    out: list[_Count] = []
    for _, what, rel, col, info in rows:
        if what == "table":
            out.append(_Count(Loss(file, f"drop {noun}", obj, f"table {rel}", 0),
                              f"SELECT count(*) FROM ONLY {rel}",
                              keep=Keep(str(rel), None, f"SELECT {KEPT_ROW} FROM ONLY {rel} AS kept_row")))
        elif what == "column":
            root = f.what == "column" and f"column {rel}.{col}" == obj
            only = _only(f.only or not root)
            out.append(_Count(Loss(file, f"drop {noun}", obj, f"column {rel}.{col}", 0),
                              f"SELECT count({col}) FROM {only}{rel}",
                              keep=Keep(str(rel), (str(col),), f"SELECT {KEPT_ROW} FROM {only}{rel} AS kept_row")))
        elif what == "sequence":
            out.append(_Count(Loss(file, f"drop {noun}", obj, f"sequence {rel}", 0, "positions in use"),
                              f"SELECT count(*) FROM {rel} WHERE is_called", (info or {}).get("owner")))
    return out or [_Count(Loss(file, f"drop {noun}", obj, obj, 0), None)]


def _losses(file: str, f: Finding, rows: list[_Row]) -> list[_Count]:
    """The losses of one finding from its resolved rows, each with the query that counts it."""
    if isinstance(f, Drop):
        return _drop_losses(file, f, rows)
    if isinstance(f, TypeChange):
        attribute = next((r for r in rows if r[1] == "attribute"), None)
        shown = f"{_written(f.table)}.{_shown(f.column)}"
        if attribute is None or attribute[4] is None:
            return [_Count(Loss(file, "type change", f"column {shown}", f"values of column {shown} (→ {f.new_type})",
                                None, "values"), None)]
        rel, col, info = attribute[2], str(attribute[3]), attribute[4]
        test, unit = value_test(f, col, info)
        how = {None: "", "cast": ", USING a cast", "expression": ", USING an expression"}[f.using]
        loss = Loss(file, "type change", f"column {rel}.{col}",
                    f"values of column {rel}.{col} ({info['old_full']} → {f.new_type}{how})", 0, unit)
        where = f"FROM {_only(f.only)}{rel} AS kept_row WHERE {col} IS NOT NULL AND ({test})"
        if test is None:
            return [_Count(loss, None)]
        return [_Count(loss, f"SELECT count(*) {where}", keep=Keep(str(rel), (col,), f"SELECT {KEPT_ROW} {where}",
                                                                  overwrites=True))]
    if isinstance(f, Truncate):
        tables = [r for r in rows if r[1] == "truncate"]
        root = next((r[2] for r in tables if r[4] and r[4].get("root")), None)
        if root is None:
            return [_Count(Loss(file, "truncate", f"table {_written(f.table)}", f"table {_written(f.table)}", None),
                           None)]
        out = []
        for _, _, rel, _, flags in sorted(tables, key=lambda r: not (r[4] or {}).get("root")):
            if rel != root or (flags or {}).get("root"):
                only = _only(bool((flags or {}).get("only")))
                out.append(_Count(Loss(file, "truncate", f"table {root}", f"table {rel}", 0),
                                  f"SELECT count(*) FROM {only}{rel}",
                                  keep=Keep(str(rel), None, f"SELECT {KEPT_ROW} FROM {only}{rel} AS kept_row")))
        return out
    if isinstance(f, RowChange):
        rel = next((r[2] for r in rows if r[1] == "relation"), None)
        columns = [str(r[3]) for r in rows if r[1] == "attribute"]
        if rel is None:
            shown = _written(f.table)
            return [_Count(Loss(file, f.what, f"table {shown}", f"rows of table {shown}", None), None)]
        if f.what == "update" and not columns:
            return []  # it sets only columns that do not exist now (added by the same file): nothing to lose
        tests = [f"({f.where})"] if f.where else []
        if f.what == "update":
            tests.append("(" + " OR ".join(f"{c} IS NOT NULL" for c in columns) + ")")
        drops = f"rows of table {rel}" if f.what == "delete" else \
            f"column{'s' if len(columns) > 1 else ''} {', '.join(f'{rel}.{c}' for c in columns)}"
        where = " WHERE " + " AND ".join(tests) if tests else ""
        keep = Keep(rel, None if f.what == "delete" else tuple(columns), f.keep_sql + where, f.ref,
                    overwrites=f.what == "update")
        return [_Count(Loss(file, f.what, f"table {rel}", drops, 0), f.count_sql + where, keep=keep)]
    if f.functions:
        found_fns = {(r[3], str(r[2])): bool((r[4] or {}).get("volatile")) for r in rows if r[1] == "function"}
        if all(found_fns.get(fn) is False for fn in f.functions):
            return []  # every function it calls is found and none is volatile: it reads, it does not write
    why = "dynamic SQL: what it changes is known only when it runs" if f.dynamic else \
        "what it changes cannot be counted before it runs"
    return [_Count(Loss(file, CANNOT_TELL, f.what, f.what, None, unknown=why, dynamic=f.dynamic), None)]


def _read(conn: psycopg.Connection, query: str) -> Any:
    """One SELECT in a read-only transaction that is rolled back (a savepoint inside the caller's transaction), sent
    with its BEGIN and ROLLBACK as one simple query: one round trip. The transaction is ended on an error too."""
    own = conn.autocommit and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    begin, end = ("BEGIN READ ONLY", "ROLLBACK") if own else \
        ("SAVEPOINT rollback_data_loss; SET TRANSACTION READ ONLY",
         "ROLLBACK TO SAVEPOINT rollback_data_loss; RELEASE SAVEPOINT rollback_data_loss")
    try:
        cur = conn.execute(f"{begin};\n{query};\n{end}".encode())
    except psycopg.Error:
        if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            conn.execute(end.encode())
        raise
    while cur.description is None and cur.nextset():
        pass
    row = cur.fetchone()
    return row[0] if row else None


def _count_all(conn: psycopg.Connection, queries: list[str]) -> list[int | None | str]:
    """Every count in one query (one round trip). A batch that fails is halved until the failing count stands alone
    (a few more round trips, on that path only): it says its SQLSTATE, never its message (which could quote a value)."""
    if not queries:
        return []
    try:
        got = _read(conn, "SELECT ARRAY[" + ", ".join(f"({q})" for q in queries) + "]::bigint[]")
        return list(got or [])
    except psycopg.OperationalError:
        raise  # the lock budget (LockNotAvailable), a cancelled statement, a lost connection: the caller's to handle
    except psycopg.Error as err:
        if len(queries) == 1:
            return [f"it could not be counted now (SQLSTATE {err.sqlstate})"]
    half = len(queries) // 2
    return _count_all(conn, queries[:half]) + _count_all(conn, queries[half:])


def measure(conn: psycopg.Connection, files: Iterable[tuple[str, str, bool]]) -> list[Loss]:
    """The losses of (file name, SQL, down) in run order, counted now: one round trip resolves every name (a catalog
    query), one counts everything (read-only, rolled back). In an up file, what cannot be counted is left out (a
    release's own DO blocks and function calls); it is reported for the way back (down files, generated way back)."""
    pending = _resolved(conn, files)
    counts = iter(_count_all(conn, [c.sql for c in pending if c.sql is not None]))
    out: list[Loss] = []
    for c in pending:
        if c.sql is None:
            out.append(c.loss)
            continue
        n = next(counts)
        out.append(Loss(**{**asdict(c.loss), **({"rows": None, "unknown": n} if isinstance(n, str) else {"rows": n})}))
    return out


def _resolved(conn: psycopg.Connection, files: Iterable[tuple[str, str, bool]]) -> list[_Count]:
    """The losses of the files resolved against the catalog (one query), not counted yet."""
    found: list[tuple[str, Finding]] = [(name, f) for name, sql, down in files for f in classify(sql)
                                        if down or not isinstance(f, CannotTell)]
    reqs = [r for i, (_, f) in enumerate(found) for r in _requests(i, f)]
    rows: dict[int, list[_Row]] = {}
    if reqs:
        for i, what, rel, col, info in conn.execute(RESOLVE, [list(c) for c in zip(*reqs, strict=True)]).fetchall():
            rows.setdefault(int(i), []).append((int(i), str(what), rel, col, info))
    pending = [c for i, (name, f) in enumerate(found) for c in _losses(name, f, _ordered(rows.get(i, [])))]
    return _without_owned(pending)


def keepable(conn: psycopg.Connection, file: str, sql: str) -> list[tuple[Loss, Keep | None]]:
    """Each loss of a file (run as a down) with the rows that hold its values now, resolved in one catalog query and
    not counted: what components.providers.keep copies aside before the file runs (None: nothing it can keep)."""
    return [(c.loss, c.keep) for c in _resolved(conn, [(file, sql, True)])]


def _without_owned(pending: list[_Count]) -> list[_Count]:
    """Without the sequences of serial or identity columns that the same steps drop (with their table or alone): the
    values they numbered are counted with the column."""
    dropped = {c.loss.drops for c in pending if c.loss.kind.startswith("drop ")}
    tables = {d.split(" ", 1)[1] for d in dropped if d.startswith("table ")}
    return [c for c in pending if not c.owner or (c.owner not in dropped and
                                                  c.owner.split(" ", 1)[1].rsplit(".", 1)[0] not in tables)]


def _ordered(rows: Sequence[_Row]) -> list[_Row]:
    """Resolved rows in a stable order: the object first, then tables, columns and sequences by name."""
    rank = {"root": 0, "table": 1, "column": 2, "sequence": 3}
    return sorted(rows, key=lambda r: (rank.get(r[1], 4), r[2] or "", r[3] or ""))
