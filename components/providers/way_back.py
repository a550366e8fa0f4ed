"""The generated step of an up-only history: the target's schema replayed into a cached shadow database, the way
back planned and proven against it (components.providers.wayback), then run only on the schema it was planned from.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import psycopg
import psycopg.sql
from pglast import ast, parser
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb

from components import runtime_env
from components.providers import locks, sql_units
from components.providers.base import scalar
from components.providers.migrations import GENERATED
from components.providers.wayback import apply as wb_apply
from components.providers.wayback import catalog, renames, shadow
from components.providers.wayback import plan as wb_plan
from rollback_stacks import downs as frozen_downs
from rollback_stacks import formats
from rollback_stacks.errors import TargetError

# Bookkeeping and our own control schema: never part of the diff (each tool keeps its table truthful itself).
EXCLUDED_SCHEMAS = ("rollback_control", "drizzle", "supabase_migrations")
EXCLUDED_TABLES = ("public._prisma_migrations", "public.schema_migrations")
SYSTEM = ("public", "information_schema", "pg_catalog", "pg_toast")
FROZEN_STATEMENT_TIMEOUT_MS = 60_000  # a statement added to a frozen down without its timeouts comment


class WayBackRefused(Exception):
    """The way back cannot be generated exactly (the message names the object or the cause)."""


def shadow_key(fmt: formats.Format, preamble: str | None, ups: Sequence[str], role: str = "") -> str:
    """The content hash a target schema's shadow is cached under: the format, the preamble, every up's text, and the
    role that builds it."""
    h = hashlib.sha256(f"{fmt.name}\0{preamble or ''}\0{role}\0".encode())
    for text in ups:
        h.update(hashlib.sha256(text.encode()).digest())
    return h.hexdigest()


@functools.lru_cache(maxsize=4096)
def statements_of(text: str) -> tuple[ast.Node, ...]:
    """A file's top-level statements, parsed once per text however many questions are asked of it (() if the
    parser rejects it: the server reports that when it runs)."""
    try:
        return tuple(s.stmt for s in parser.parse_sql(text) if s.stmt is not None)
    except parser.ParseError:
        return ()


def created_schemas(texts: Sequence[str]) -> set[str]:
    """Schemas the history creates itself (CREATE SCHEMA), which the shadow gets from replaying it."""
    return {str(s.schemaname) for text in texts for s in statements_of(text)
            if isinstance(s, ast.CreateSchemaStmt) and s.schemaname}


def created_on_tables(texts: Sequence[str]) -> set[tuple[str, str, str]]:
    """Triggers and policies the history creates, as pg_dump names them: (type, schema, "table name")."""
    out: set[tuple[str, str, str]] = set()
    for s in (s for text in texts for s in statements_of(text)):
        if isinstance(s, ast.CreateTrigStmt) and s.relation is not None:
            out.add(("TRIGGER", s.relation.schemaname or "public", f"{s.relation.relname} {s.trigname}"))
        elif isinstance(s, ast.CreatePolicyStmt) and s.table is not None:
            out.add(("POLICY", s.table.schemaname or "public", f"{s.table.relname} {s.policy_name}"))
    return out


def platform_publications(conn: psycopg.Connection, texts: Sequence[str]) -> list[str]:
    """Live publications no migration creates (Supabase's supabase_realtime): the history adds tables to them."""
    mine = {str(s.pubname) for text in texts for s in statements_of(text) if isinstance(s, ast.CreatePublicationStmt)}
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
        # one shadow per role: its objects are that role's, and the proven way backs it keeps are written by it
        role = str(scalar(conn.execute("SELECT current_user")))
        target_dsn = shadow.ensure(admin, shadow_key(fmt, preamble, [t for _, t in ups], role), build)
        undo = renames.reverse(renames.extract([files[m.up] for m in listing.between(target, current)]))
        excluded = [*EXCLUDED_SCHEMAS, *platform]
        key = (catalog.digest(catalog.snapshot(conn, excluded, EXCLUDED_TABLES)),
               json.dumps([undo, excluded, guard.timeout_ms]))
        cached = _cached(target_dsn, key)
        if cached is not None:
            return cached
        result = wb_plan.way_back(live, target_dsn, admin, renames=undo, exclude_schemas=excluded,
                                  exclude_tables=EXCLUDED_TABLES, lock_timeout_ms=guard.timeout_ms)
    except (WayBackRefused, shadow.ShadowError) as err:
        return {"refused": str(err)}
    if result.refused:
        return {"refused": result.refused}
    out: dict[str, Any] = dict(result.to_json())
    out["shadow"] = str(conninfo_to_dict(target_dsn).get("dbname"))
    _cache(target_dsn, key, out)
    return out


# Proven way backs kept in their target's shadow, by the live schema's digest and what else shaped them: a second
# plan from the same live schema to the same target reads it instead of copying, diffing and proving again.
PLANS_DDL = ("CREATE SCHEMA IF NOT EXISTS rollback_control; CREATE TABLE IF NOT EXISTS rollback_control.way_backs "
             "(live_digest text NOT NULL, settings text NOT NULL, plan jsonb NOT NULL, "
             "at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (live_digest, settings))")


def _cached(target_dsn: str, key: tuple[str, str]) -> dict[str, Any] | None:
    """A way back proven before from this live schema to this target, or None (also when it cannot be read: the
    cache only saves time)."""
    try:
        with psycopg.connect(target_dsn, autocommit=True, connect_timeout=10) as conn:
            if scalar(conn.execute("SELECT to_regclass('rollback_control.way_backs')")) is None:
                return None
            row = conn.execute("SELECT plan FROM rollback_control.way_backs WHERE live_digest = %s AND "
                               "settings = %s", key).fetchone()
    except psycopg.Error:
        return None
    return dict(row[0]) if row else None


def _cache(target_dsn: str, key: tuple[str, str], plan: dict[str, Any]) -> None:
    """Keep a proven way back in its target's shadow (rollback_control is never part of a diff); best effort."""
    try:
        with psycopg.connect(target_dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(PLANS_DDL)
            conn.execute("INSERT INTO rollback_control.way_backs (live_digest, settings, plan) VALUES (%s, %s, %s) "
                         "ON CONFLICT DO NOTHING", (*key, Jsonb(plan)))
    except psycopg.Error:
        pass


def frozen_statements(text: str, where: str, lock_timeout_ms: int) -> list[dict[str, Any]]:
    """A frozen down's steps as the way back's statements (Statement.to_json): timeouts from its comments, else the
    defaults; transactional unless PostgreSQL refuses it in a transaction. TargetError for a file that cannot be run
    as written (see rollback_stacks.downs.parse), or a step mixing such a statement with others."""
    _, steps = frozen_downs.parse(text, where)
    out = []
    for i, step in enumerate(steps, start=1):
        alone = [sql for sql, node in zip(step.parts, step.nodes, strict=True) if sql_units.outside_transaction(node)]
        if alone and len(step.parts) > 1:
            raise TargetError(f"{where}: statement {i}: {wb_apply.short(alone[0], 60)} cannot run in a transaction, "
                              "so it cannot share a step with other statements; fix: lead it with a `-- statement` "
                              "comment line of its own, then `rollback downs seal STACK`")
        out.append({"sql": step.sql, "hazards": [{"kind": k, "message": m} for k, m in step.hazards],
                    "statement_timeout_ms": step.statement_timeout_ms or FROZEN_STATEMENT_TIMEOUT_MS,
                    "lock_timeout_ms": step.lock_timeout_ms or lock_timeout_ms, "transactional": not alone})
    return out


def frozen(conn: psycopg.Connection, guard: locks.Guard, fmt: formats.Format, texts: dict[str, str] | None,
           current: int | None, target: int) -> tuple[dict[str, Any] | None, str | None]:
    """The reviewed way back of a frozen down (rollback_stacks.downs) for this move, as generate() returns it, while
    the live schema has the digest it was generated from: (plan, None). (None, why) when a frozen down for this move
    exists but the live schema changed since; (None, None) when there is none. The file's SQL is used as written:
    no shadow, no pg-schema-diff."""
    mine: list[tuple[str, str, frozen_downs.Header]] = []
    for rel, text in sorted((texts or {}).items()):
        try:
            header = frozen_downs.parse_header(text, rel)
        except TargetError:
            continue  # the record's validation names it; a down without a header cannot be for this move
        if (header.format, header.from_version, header.to_version) == (fmt.name, current, target):
            mine.append((rel, text, header))
    stale: list[str] = []
    for rel, text, header in mine:
        live = catalog.snapshot(conn, header.exclude_schemas, header.exclude_tables)
        if catalog.digest(live) != header.live_digest:
            stale.append(rel)
            continue
        try:
            statements = frozen_statements(text, rel, guard.timeout_ms)
        except TargetError as err:
            return {"refused": f"the frozen down {rel} cannot be run: {err}", "frozen": rel}, None
        return {"statements": statements, "live_digest": header.live_digest, "target_digest": header.target_digest,
                "notes": [f"the frozen down {rel} (generated {header.generated_at}, reviewed), run as written: the "
                          "live schema is the one it was generated from"], "refused": None, "live": live,
                "target": {}, "exclude_schemas": list(header.exclude_schemas),
                "exclude_tables": list(header.exclude_tables), "frozen": rel}, None
    if not stale:
        return None, None
    return None, (f"the frozen down {', '.join(stale)} is not used: the live schema changed since it was generated "
                  "(its digest is no longer the live_digest of its header); the way back is generated again. "
                  "Freeze it again with `rollback downs generate` to review the new one")


def reached(conn: psycopg.Connection, wb: wb_plan.WayBack, rel: str) -> None:
    """WayBackRefused unless the live schema now has the frozen down's target digest (the run cannot be undone:
    its statements committed one by one)."""
    got = catalog.digest(catalog.snapshot(conn, wb.exclude_schemas, wb.exclude_tables))
    if got != wb.target_digest:
        raise WayBackRefused(
            f"the frozen down {rel} did not reach the target: the live schema's digest is {got[:12]}…, the target's "
            f"{wb.target_digest[:12]}…; its {len(wb.statements)} statement(s) ran and stay applied (each committed; "
            "nothing is undone automatically) and the migration tool's table was not moved: the schema is now "
            "between the two. Restore the safety snapshot, or finish the way back by hand (what the frozen down "
            "leaves out) and apply again; correct the frozen down (`rollback downs generate`) before it is used "
            "again")


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
        unknown = planned.get("unknown")
        raise WayBackRefused(reason or (f"the way back could not be planned: {unknown}" if unknown else
                                        "no generated way back was planned for this step: run the preview again"))
    wb = wb_plan.WayBack.from_json(generated)
    rel = generated.get("frozen")
    try:
        wb_apply.run(conn, wb, expect_live_digest=wb.live_digest)
        if rel:  # a frozen down has no target snapshot: its target digest, checked before the bookkeeping moves
            reached(conn, wb, str(rel))
        conn.execute(moved)
        if not rel:
            wb_apply.verified(conn, wb)
    except wb_apply.ApplyError as err:
        raise WayBackRefused(f"the frozen down {rel}: {err}" if rel else str(err)) from None
    return {**generated, "verified": True}
