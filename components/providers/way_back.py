"""The generated step of an up-only history: the target's schema replayed into a cached shadow database, the way
back planned and proven against it (components.providers.wayback), then run only on the schema it was planned from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import psycopg
import psycopg.sql
from pglast import ast, parser
from psycopg.conninfo import conninfo_to_dict

from components import runtime_env
from components.providers import locks, sql_units
from components.providers.migrations import GENERATED
from components.providers.wayback import apply as wb_apply
from components.providers.wayback import plan as wb_plan
from components.providers.wayback import renames, shadow
from rollback_stacks import formats

# Bookkeeping and our own control schema: never part of the diff (each tool keeps its table truthful itself).
EXCLUDED_SCHEMAS = ("rollback_control", "drizzle", "supabase_migrations")
EXCLUDED_TABLES = ("public._prisma_migrations", "public.schema_migrations")
SYSTEM = ("public", "information_schema", "pg_catalog", "pg_toast")


class WayBackRefused(Exception):
    """The way back cannot be generated exactly (the message names the object or the cause)."""


def shadow_key(fmt: formats.Format, preamble: str | None, ups: Sequence[str]) -> str:
    """The content hash a target schema's shadow is cached under: the format, the preamble and every up's text."""
    h = hashlib.sha256(f"{fmt.name}\0{preamble or ''}\0".encode())
    for text in ups:
        h.update(hashlib.sha256(text.encode()).digest())
    return h.hexdigest()


def created_schemas(texts: Sequence[str]) -> set[str]:
    """Schemas the history creates itself (CREATE SCHEMA), which the shadow gets from replaying it."""
    out: set[str] = set()
    for text in texts:
        try:
            stmts = parser.parse_sql(text)
        except parser.ParseError:
            continue
        out.update(s.stmt.schemaname for s in stmts if isinstance(s.stmt, ast.CreateSchemaStmt) and s.stmt.schemaname)
    return out


def created_on_tables(texts: Sequence[str]) -> set[tuple[str, str, str]]:
    """Triggers and policies the history creates, as pg_dump names them: (type, schema, "table name")."""
    out: set[tuple[str, str, str]] = set()
    for text in texts:
        try:
            stmts = parser.parse_sql(text)
        except parser.ParseError:
            continue
        for item in stmts:
            s = item.stmt
            if isinstance(s, ast.CreateTrigStmt) and s.relation is not None:
                out.add(("TRIGGER", s.relation.schemaname or "public", f"{s.relation.relname} {s.trigname}"))
            elif isinstance(s, ast.CreatePolicyStmt) and s.table is not None:
                out.add(("POLICY", s.table.schemaname or "public", f"{s.table.relname} {s.policy_name}"))
    return out


def platform_publications(conn: psycopg.Connection, texts: Sequence[str]) -> list[str]:
    """Live publications no migration creates (Supabase's supabase_realtime): the history adds tables to them."""
    mine: set[str] = set()
    for text in texts:
        try:
            mine.update(str(s.stmt.pubname) for s in parser.parse_sql(text)
                        if isinstance(s.stmt, ast.CreatePublicationStmt))
        except parser.ParseError:
            continue
    return [str(r[0]) for r in conn.execute("SELECT pubname FROM pg_publication ORDER BY pubname").fetchall()
            if r[0] not in mine]


PUBLIC_GRANTS = """
SELECT format('GRANT %s ON SCHEMA public TO %s', a.privilege_type,
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END)
  FROM pg_namespace n, aclexplode(n.nspacl) a
 WHERE n.nspname = 'public' AND a.grantee <> n.nspowner
"""


def public_grants(conn: psycopg.Connection) -> list[str]:
    """Live's grants on schema public (a platform's roles get them before any migration)."""
    return [str(r[0]) for r in conn.execute(PUBLIC_GRANTS).fetchall()]


def platform_schemas(conn: psycopg.Connection, texts: Sequence[str]) -> list[str]:
    """Live schemas no migration of the history creates (a platform's auth, storage, extensions): the history
    assumes them, so the shadow copies them from live and the diff leaves them alone."""
    live = [str(r[0]) for r in conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' ORDER BY nspname").fetchall()]
    mine = created_schemas(texts)
    return [s for s in live if s not in SYSTEM and s not in EXCLUDED_SCHEMAS and s not in mine]


def replay(conn: psycopg.Connection, name_texts: Sequence[tuple[str, str]]) -> None:
    """Run migration files as their runner does: transactional units in a transaction, the rest alone."""
    for name, text in name_texts:
        for unit in sql_units.split(name, text):
            if not unit.sql:
                continue
            try:
                if unit.transactional:
                    with conn.transaction():
                        conn.execute(unit.sql)
                else:
                    conn.execute(unit.sql)
            except psycopg.Error as err:
                raise WayBackRefused(f"replaying {name} into the shadow database failed: "
                                     f"{str(err).strip().splitlines()[0]}") from None


def generate(conn: psycopg.Connection, guard: locks.Guard, fmt: formats.Format, listing: formats.Listing,
             files: dict[str, str], preamble: str | None, current: int | None, target: int) -> dict[str, Any]:
    """The way back from `current` to `target` as plain data: statements with hazards and timeouts, the live and
    target digests, notes; or `refused` with the reason. The live database is only read."""
    live = guard.conninfo()
    admin = runtime_env.shadow_server_url() if runtime_env.has_shadow_server() else live
    ups = [(m.up, files[m.up]) for m in listing.upto(target)]
    everything = [files[m.up] for m in listing.migrations]
    platform = platform_schemas(conn, everything)
    publications = platform_publications(conn, everything)
    grants = public_grants(conn)

    def build(shadow_conn: psycopg.Connection) -> None:
        if preamble:
            replay(shadow_conn, [("the preamble", preamble)])
        elif platform:
            # the platform as live has it, less what the history itself adds to it (it is replayed next)
            shadow.copy_platform(live, shadow_conn, platform, created_on_tables(everything))
        for grant in grants:
            shadow_conn.execute(grant)
        for pub in publications:  # empty: the history adds its own tables to them
            shadow_conn.execute(psycopg.sql.SQL("CREATE PUBLICATION {}").format(psycopg.sql.Identifier(pub)))
        replay(shadow_conn, ups)
        for ddl in fmt.ensure():  # the bookkeeping table exists on both sides: the diff leaves it alone
            shadow_conn.execute(ddl)

    try:
        target_dsn = shadow.ensure(admin, shadow_key(fmt, preamble, [t for _, t in ups]), build)
        undo = renames.reverse(renames.extract([files[m.up] for m in listing.between(target, current)]))
        result = wb_plan.way_back(live, target_dsn, admin, renames=undo,
                                  exclude_schemas=[*EXCLUDED_SCHEMAS, *platform], exclude_tables=EXCLUDED_TABLES,
                                  lock_timeout_ms=guard.timeout_ms)
    except (WayBackRefused, shadow.ShadowError) as err:
        return {"refused": str(err)}
    if result.refused:
        return {"refused": result.refused}
    out: dict[str, Any] = dict(result.to_json())
    out["shadow"] = str(conninfo_to_dict(target_dsn).get("dbname"))
    return out


def sql_text(generated: dict[str, Any]) -> str:
    """The generated statements as one SQL text (for the data-loss count and the blocker check)."""
    return ";\n".join(str(s["sql"]) for s in generated.get("statements") or []) + ";"


def planned_sql(planned: dict[str, Any]) -> str:
    """The SQL text of the previewed way back ('' when none was planned)."""
    generated = planned.get("generated")
    return sql_text(generated) if isinstance(generated, dict) and generated.get("statements") else ""


def value_losses(planned: dict[str, Any]) -> list[str]:
    """Values the previewed way back destroys without dropping a table or column (an enum value rows still hold):
    the drops are counted from the SQL itself (schema.destructive_now)."""
    generated = planned.get("generated")
    if not isinstance(generated, dict):
        return []
    return [f"{GENERATED} {h['message']}" for stmt in generated.get("statements") or []
            for h in stmt.get("hazards") or []
            if h.get("kind") == "DELETES_DATA" and "row(s) of" in h.get("message", "")]


def run(conn: psycopg.Connection, guard: locks.Guard, planned: dict[str, Any], moved: str) -> dict[str, Any]:
    """Run the previewed way back: only while the live schema still has the digest it was planned from, each
    statement under its timeouts; then the tool's bookkeeping, and a check that live now equals the target."""
    generated = planned.get("generated")
    if not isinstance(generated, dict) or generated.get("refused") or "statements" not in generated:
        reason = generated.get("refused") if isinstance(generated, dict) else None
        raise WayBackRefused(reason or "no generated way back was planned for this step: run the preview again")
    wb = wb_plan.WayBack.from_json(generated)
    try:
        wb_apply.run(conn, wb, expect_live_digest=wb.live_digest)
        conn.execute(moved)
        wb_apply.verified(conn, wb)
    except wb_apply.ApplyError as err:
        raise WayBackRefused(str(err)) from None
    return {**generated, "verified": True}
