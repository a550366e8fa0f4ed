"""Views in the way of a column type change: captured from the catalog, dropped, and recreated as they were.

ALTER COLUMN ... TYPE cannot run while a view (or a view over that view) uses the column or the type, so the enum
recreation drops those views first and recreates them afterwards, in the same transaction: definition (printed
with an empty search_path, so schema-qualified), options (security_barrier, check_option, ...), grants, comments
on the view and its columns, column defaults, INSTEAD OF triggers, and for materialized views their indexes
(recreated WITH DATA: recomputed). A view with rules of its own besides its _RETURN rule is refused. The
generator's proof compares the result with the target, so anything missed is refused there.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from components.providers.wayback.catalog import qualified

# The views using the type (a constant of it, a column of it) or a column of it, and every view over those.
DEPENDENT = """
WITH RECURSIVE typ AS (
  SELECT t.oid, t.typarray FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE n.nspname = %s AND t.typname = %s),
cols AS (
  SELECT a.attrelid, a.attnum FROM pg_attribute a, typ
  WHERE a.atttypid IN (typ.oid, typ.typarray) AND a.attnum > 0 AND NOT a.attisdropped),
direct AS (
  SELECT r.ev_class AS view FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid, typ
  WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_type'::regclass
    AND d.refobjid IN (typ.oid, typ.typarray)
  UNION
  SELECT r.ev_class FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN cols c
    ON d.refobjid = c.attrelid AND d.refobjsubid = c.attnum
  WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND r.ev_class <> c.attrelid),
closure AS (
  SELECT view FROM direct
  UNION
  SELECT r.ev_class FROM closure c JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = c.view
    AND d.classid = 'pg_rewrite'::regclass JOIN pg_rewrite r ON r.oid = d.objid
  WHERE r.ev_class <> c.view)
SELECT c.oid, n.nspname || '.' || c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relkind,
  c.reloptions, pg_get_viewdef(c.oid), obj_description(c.oid, 'pg_class'),
  (SELECT array_agg(format('GRANT %%s ON %%s TO %%s%%s', a.privilege_type,
     quote_ident(n.nspname) || '.' || quote_ident(c.relname),
     coalesce(quote_ident(r.rolname), 'PUBLIC'), CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END))
   FROM aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee WHERE a.grantee <> c.relowner),
  (SELECT array_agg(format('COMMENT ON COLUMN %%s.%%s IS %%L', quote_ident(n.nspname) || '.' ||
     quote_ident(c.relname), quote_ident(a.attname), col_description(c.oid, a.attnum)))
   FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND col_description(c.oid, a.attnum) IS NOT NULL),
  (SELECT array_agg(format('ALTER VIEW %%s ALTER COLUMN %%s SET DEFAULT %%s', quote_ident(n.nspname) || '.' ||
     quote_ident(c.relname), quote_ident(a.attname), pg_get_expr(d.adbin, d.adrelid)))
   FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = c.oid),
  (SELECT array_agg(pg_get_triggerdef(g.oid)) FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal),
  (SELECT array_agg(pg_get_indexdef(x.indexrelid)) FROM pg_index x WHERE x.indrelid = c.oid),
  (SELECT count(*) FROM pg_rewrite w WHERE w.ev_class = c.oid AND w.rulename <> '_RETURN'),
  (SELECT array_agg(DISTINCT d.refobjid) FROM pg_rewrite w JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass
     AND d.objid = w.oid AND d.refclassid = 'pg_class'::regclass WHERE w.ev_class = c.oid AND d.refobjid <> c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid IN (SELECT view FROM closure) AND c.relkind IN ('v', 'm')
ORDER BY c.oid
"""


class ViewRefused(RuntimeError):
    """A view in the way cannot be recreated faithfully."""


@dataclass(frozen=True)
class View:
    """A view (or materialized view) as it must be recreated."""

    oid: int
    name: str  # "schema.view", for messages
    ident: str  # quoted and qualified
    materialized: bool
    options: tuple[str, ...]
    definition: str
    comment: str | None
    after: tuple[str, ...]  # grants, column comments and defaults, triggers, indexes (run after CREATE)
    extra_rules: int
    uses: frozenset[int]  # the relations its query reads

    def drop(self) -> str:
        """DROP statement."""
        return f"DROP {'MATERIALIZED VIEW' if self.materialized else 'VIEW'} {self.ident}"

    def create(self) -> list[str]:
        """The statements that recreate it."""
        options = f" WITH ({', '.join(self.options)})" if self.options else ""
        body = self.definition.strip().rstrip(";")
        if self.materialized:  # WITH DATA: the copy the plan is made on is schema-only, never populated
            head = [f"CREATE MATERIALIZED VIEW {self.ident}{options} AS {body} WITH DATA"]
        else:
            head = [f"CREATE VIEW {self.ident}{options} AS {body}"]
        comment = [f"COMMENT ON {'MATERIALIZED VIEW' if self.materialized else 'VIEW'} {self.ident} IS "
                   + "'" + self.comment.replace("'", "''") + "'"] if self.comment else []
        return head + comment + list(self.after)


def dependent(conn: psycopg.Connection, schema: str, type_name: str) -> list[View]:
    """The views in the way of changing the type's columns, in an order they can be created in."""
    with qualified(conn):
        rows = conn.execute(DEPENDENT, (schema, type_name)).fetchall()
    found = [View(int(r[0]), str(r[1]), str(r[2]), r[3] == "m", tuple(r[4] or ()), str(r[5]), r[6],
                  tuple([*(r[7] or ()), *(r[8] or ()), *(r[9] or ()), *(r[10] or ()), *(r[11] or ())]),
                  int(r[12]), frozenset(int(o) for o in r[13] or ())) for r in rows]
    ruled = [v.name for v in found if v.extra_rules]
    if ruled:
        raise ViewRefused(f"view(s) {', '.join(ruled)} have rules of their own and cannot be recreated")
    return _ordered(found)


def _ordered(views: list[View]) -> list[View]:
    """Views sorted so each comes after the views it reads."""
    pending, out = list(views), []
    done: set[int] = set()
    mine = {v.oid for v in views}
    while pending:
        ready = [v for v in pending if not (v.uses & mine) - done]
        if not ready:  # a cycle cannot happen between views; keep the catalog order if it did
            ready = pending[:1]
        for v in ready:
            out.append(v)
            done.add(v.oid)
            pending.remove(v)
    return out
