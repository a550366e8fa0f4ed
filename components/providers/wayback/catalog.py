"""A database's schema as plain JSON (column order aside), its digest, and the differences between two of them.

The snapshot is what the way back must reproduce: every kind of object a migration creates, with its definition as
PostgreSQL prints it (read with an empty search_path, so every name is schema-qualified the same way on any
database). Grants are in it (normalized: owner entries and grantors left out, since owners differ between the live
database and a shadow built by another role): pg-schema-diff only diffs table grants, and migrations also grant on
schemas, sequences, views, functions and types. Owners, tablespaces and statistics are not in it. Sequence numbers
are strings so the snapshot survives Pulumi's numbers-are-doubles wire format.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

Snapshot = dict[str, dict[str, Any]]

# The label of each kind in a difference ("column public.items.title: only in live").
LABELS = {"schemas": "schema", "extensions": "extension", "tables": "table", "columns": "column",
          "constraints": "constraint", "indexes": "index", "views": "view", "sequences": "sequence",
          "enums": "enum", "domains": "domain", "composites": "composite type", "ranges": "range type",
          "functions": "function", "triggers": "trigger", "policies": "policy"}

_SCOPE = ("n.nspname <> ALL(%(xs)s) AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
          "AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'")


def _member(catalog: str, oid: str) -> str:
    """SQL: the object is not part of an extension (extensions are compared as a whole)."""
    return (f"NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{catalog}'::regclass "
            f"AND e.objid = {oid} AND e.deptype = 'e')")


def _acl(acl: str, kind: str, owner: str) -> str:
    """SQL: the grants as sorted 'grantee:PRIVILEGE' ('*' when grantable), without the owner's own."""
    return (f"(SELECT coalesce(array_agg(coalesce(r.rolname, 'PUBLIC') || ':' || a.privilege_type "
            f"|| CASE WHEN a.is_grantable THEN '*' ELSE '' END ORDER BY coalesce(r.rolname, 'PUBLIC'), "
            f"a.privilege_type), '{{}}') FROM aclexplode(coalesce({acl}, acldefault('{kind}', {owner}))) a "
            f"LEFT JOIN pg_roles r ON r.oid = a.grantee WHERE a.grantee <> {owner})")


_REL = ("FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " + _SCOPE
        + " AND n.nspname || '.' || c.relname <> ALL(%(xt)s) AND " + _member("pg_class", "c.oid"))

QUERIES: dict[str, str] = {
    "schemas": "SELECT n.nspname, json_build_object('acl', " + _acl("n.nspacl", "n", "n.nspowner")
               + ", 'comment', obj_description(n.oid, 'pg_namespace')) FROM pg_namespace n WHERE " + _SCOPE
               + " AND " + _member("pg_namespace", "n.oid"),
    "extensions": "SELECT x.extname, json_build_object('schema', n.nspname, 'version', x.extversion) "
                  "FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace WHERE " + _SCOPE,
    "tables": "SELECT n.nspname || '.' || c.relname, json_build_object('kind', c.relkind, 'persistence', "
              "c.relpersistence, 'rls', c.relrowsecurity, 'rls_forced', c.relforcerowsecurity, 'replica_identity', "
              "c.relreplident, 'options', c.reloptions, 'partition_key', CASE WHEN c.relkind = 'p' THEN "
              "pg_get_partkeydef(c.oid) END, 'partition_bound', pg_get_expr(c.relpartbound, c.oid), 'inherits', "
              "(SELECT array_agg(i.inhparent::regclass::text ORDER BY i.inhseqno) FROM pg_inherits i "
              "WHERE i.inhrelid = c.oid), 'acl', " + _acl("c.relacl", "r", "c.relowner")
              + ", 'comment', obj_description(c.oid, 'pg_class')) " + _REL + " AND c.relkind IN ('r', 'p', 'f')",
    "columns": "SELECT n.nspname || '.' || c.relname || '.' || a.attname, json_build_object('type', "
               "format_type(a.atttypid, a.atttypmod), 'not_null', a.attnotnull, 'default', "
               "pg_get_expr(d.adbin, d.adrelid), 'identity', a.attidentity, 'generated', a.attgenerated, "
               "'collation', CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END, "
               "'acl', " + _acl("a.attacl", "c", "c.relowner") + ", 'comment', col_description(c.oid, a.attnum)) "
               "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON "
               "n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_attrdef d ON "
               "d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attnum > 0 AND NOT a.attisdropped AND "
               "c.relkind IN ('r', 'p', 'f') AND " + _SCOPE + " AND n.nspname || '.' || c.relname <> ALL(%(xt)s) "
               "AND " + _member("pg_class", "c.oid"),
    "constraints": "SELECT n.nspname || '.' || c.relname || '.' || k.conname, json_build_object('type', k.contype, "
                   "'def', pg_get_constraintdef(k.oid), 'comment', obj_description(k.oid, 'pg_constraint')) "
                   "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n "
                   "ON n.oid = c.relnamespace WHERE " + _SCOPE + " AND n.nspname || '.' || c.relname <> ALL(%(xt)s) "
                   "AND " + _member("pg_class", "c.oid"),
    "indexes": "SELECT n.nspname || '.' || i.relname, json_build_object('table', n.nspname || '.' || c.relname, "
               "'def', pg_get_indexdef(x.indexrelid), 'valid', x.indisvalid, 'comment', "
               "obj_description(i.oid, 'pg_class')) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
               "JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
               + _SCOPE + " AND n.nspname || '.' || c.relname <> ALL(%(xt)s) AND " + _member("pg_class", "c.oid"),
    "views": "SELECT n.nspname || '.' || c.relname, json_build_object('kind', c.relkind, 'def', "
             "pg_get_viewdef(c.oid), 'options', c.reloptions, 'acl', " + _acl("c.relacl", "r", "c.relowner")
             + ", 'comment', obj_description(c.oid, 'pg_class')) " + _REL + " AND c.relkind IN ('v', 'm')",
    "sequences": "SELECT n.nspname || '.' || c.relname, json_build_object('type', format_type(s.seqtypid, NULL), "
                 "'start', s.seqstart::text, 'increment', s.seqincrement::text, 'min', s.seqmin::text, 'max', "
                 "s.seqmax::text, 'cache', s.seqcache::text, 'cycle', s.seqcycle, 'owned_by', o.owner, 'acl', "
                 + _acl("c.relacl", "s", "c.relowner") + ", 'comment', obj_description(c.oid, 'pg_class')) "
                 "FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n "
                 "ON n.oid = c.relnamespace LEFT JOIN LATERAL (SELECT tn.nspname || '.' || t.relname || '.' "
                 "|| ta.attname AS owner, tn.nspname || '.' || t.relname AS tbl FROM pg_depend d JOIN pg_class t "
                 "ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace JOIN pg_attribute ta ON "
                 "ta.attrelid = t.oid AND ta.attnum = d.refobjsubid WHERE d.classid = 'pg_class'::regclass "
                 "AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) o "
                 "ON true WHERE " + _SCOPE + " AND n.nspname || '.' || c.relname <> ALL(%(xt)s) AND "
                 "coalesce(o.tbl <> ALL(%(xt)s), true) AND " + _member("pg_class", "c.oid"),
    "enums": "SELECT n.nspname || '.' || t.typname, json_build_object('labels', (SELECT array_agg(e.enumlabel "
             "ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), 'acl', "
             + _acl("t.typacl", "T", "t.typowner") + ", 'comment', obj_description(t.oid, 'pg_type')) "
             "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'e' AND " + _SCOPE
             + " AND " + _member("pg_type", "t.oid"),
    "domains": "SELECT n.nspname || '.' || t.typname, json_build_object('type', format_type(t.typbasetype, "
               "t.typtypmod), 'not_null', t.typnotnull, 'default', t.typdefault, 'collation', "
               "t.typcollation::regcollation::text, 'constraints', (SELECT json_object_agg(k.conname, "
               "pg_get_constraintdef(k.oid) ORDER BY k.conname) FROM pg_constraint k WHERE k.contypid = t.oid), "
               "'acl', " + _acl("t.typacl", "T", "t.typowner") + ", 'comment', obj_description(t.oid, 'pg_type')) "
               "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'd' AND " + _SCOPE
               + " AND " + _member("pg_type", "t.oid"),
    "composites": "SELECT n.nspname || '.' || t.typname, json_build_object('attributes', (SELECT "
                  "array_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) "
                  "FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), "
                  "'acl', " + _acl("t.typacl", "T", "t.typowner") + ", 'comment', obj_description(t.oid, "
                  "'pg_type')) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_class c "
                  "ON c.oid = t.typrelid WHERE t.typtype = 'c' AND c.relkind = 'c' AND " + _SCOPE + " AND "
                  + _member("pg_type", "t.oid"),
    "ranges": "SELECT n.nspname || '.' || t.typname, json_build_object('subtype', format_type(r.rngsubtype, NULL), "
              "'acl', " + _acl("t.typacl", "T", "t.typowner") + ", 'comment', obj_description(t.oid, 'pg_type')) "
              "FROM pg_type t JOIN pg_range r ON r.rngtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace "
              "WHERE " + _SCOPE + " AND " + _member("pg_type", "t.oid"),
    "functions": "SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', "
                 "json_build_object('kind', p.prokind, 'def', CASE WHEN p.prokind <> 'a' THEN "
                 "pg_get_functiondef(p.oid) END, 'result', pg_get_function_result(p.oid), 'acl', "
                 + _acl("p.proacl", "f", "p.proowner") + ", 'comment', obj_description(p.oid, 'pg_proc')) "
                 "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE " + _SCOPE + " AND "
                 + _member("pg_proc", "p.oid"),
    "triggers": "SELECT n.nspname || '.' || c.relname || '.' || g.tgname, json_build_object('def', "
                "pg_get_triggerdef(g.oid), 'enabled', g.tgenabled, 'comment', obj_description(g.oid, 'pg_trigger')) "
                "FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = "
                "c.relnamespace WHERE NOT g.tgisinternal AND " + _SCOPE + " AND n.nspname || '.' || c.relname "
                "<> ALL(%(xt)s) AND " + _member("pg_class", "c.oid"),
    "policies": "SELECT n.nspname || '.' || c.relname || '.' || p.polname, json_build_object('command', p.polcmd, "
                "'permissive', p.polpermissive, 'roles', (SELECT array_agg(coalesce(r.rolname, 'PUBLIC') ORDER BY "
                "coalesce(r.rolname, 'PUBLIC')) FROM unnest(p.polroles) u(oid) LEFT JOIN pg_roles r "
                "ON r.oid = u.oid), 'using', pg_get_expr(p.polqual, p.polrelid), 'check', "
                "pg_get_expr(p.polwithcheck, p.polrelid), 'comment', obj_description(p.oid, 'pg_policy')) "
                "FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = "
                "c.relnamespace WHERE " + _SCOPE + " AND n.nspname || '.' || c.relname <> ALL(%(xt)s)",
}


@contextmanager
def qualified(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """A transaction with an empty search_path, so PostgreSQL prints every name schema-qualified."""
    with conn.transaction():
        before = conn.execute("SELECT current_setting('search_path')").fetchone()
        conn.execute("SELECT set_config('search_path', '', true)")
        yield conn
        conn.execute("SELECT set_config('search_path', %s, true)", (before[0] if before else "",))


def snapshot(conn: psycopg.Connection, exclude_schemas: Sequence[str] = (),
             exclude_tables: Sequence[str] = ()) -> Snapshot:
    """The schema of conn's database outside the excluded schemas and tables ('schema.table'), as plain JSON."""
    params = {"xs": list(exclude_schemas), "xt": list(exclude_tables)}
    out: Snapshot = {}
    with qualified(conn):
        for kind, query in QUERIES.items():
            out[kind] = {str(name): detail for name, detail in conn.execute(query, params).fetchall()}
    return out


def excluded(name: str, exclude_schemas: Sequence[str], exclude_tables: Sequence[str]) -> bool:
    """Whether an object named 'schema.table[.part]' lies in an excluded schema or table."""
    schema, _, rest = name.partition(".")
    return schema in exclude_schemas or f"{schema}.{rest.split('.', 1)[0]}" in exclude_tables


def canonical(snap: Snapshot) -> str:
    """The snapshot as canonical JSON (sorted keys, no spaces)."""
    return json.dumps(snap, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(snap: Snapshot) -> str:
    """sha256 of the canonical JSON."""
    return hashlib.sha256(canonical(snap).encode()).hexdigest()


def differences(a: Snapshot, b: Snapshot, names: tuple[str, str] = ("live", "target")) -> list[str]:
    """Each object that differs, named: "column public.items.title: only in live", "domain public.d: differs (...)"."""
    found: list[str] = []
    for kind in sorted(set(a) | set(b), key=lambda k: list(LABELS).index(k) if k in LABELS else len(LABELS)):
        label = LABELS.get(kind, kind)
        left, right = a.get(kind) or {}, b.get(kind) or {}
        for name in sorted(set(left) | set(right)):
            if name not in right:
                found.append(f"{label} {name}: only in {names[0]}")
            elif name not in left:
                found.append(f"{label} {name}: only in {names[1]}")
            else:
                fields = _fields(left[name], right[name])
                if fields:
                    found.append(f"{label} {name}: differs ({', '.join(fields)})")
    return found


def _fields(left: dict[str, Any], right: dict[str, Any]) -> list[str]:
    """The fields whose values differ; null, [] and {} count as absent (a wire format may drop them)."""
    def value(d: dict[str, Any], k: str) -> Any:
        """d[k], with empty values as None."""
        v = d.get(k)
        return None if v in (None, [], {}) else v

    return sorted(k for k in set(left) | set(right) if value(left, k) != value(right, k))
