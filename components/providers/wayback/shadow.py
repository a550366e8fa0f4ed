"""Scratch databases on a server: cached shadows (the schema at version N), throwaway copies, schema-only copies.

A shadow is built under a `_building_` name and renamed to its final name only once its build succeeded, so a
database named `rollback_shadow_<key>` is always complete; a failed or interrupted build drops its database.
Creating databases needs CREATEDB (Supabase's `postgres` has it without being a superuser). Roles are
cluster-wide: a copy on the same server finds the roles its grants name.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import psycopg
import psycopg.errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from components import runtime_env
from components.providers.base import scalar

PREFIX = "rollback_shadow_"
CONNECT_TIMEOUT = 10
# Connection keywords every libpq since PostgreSQL 12 knows (psycopg's newer libpq reports more, e.g. sslcertmode).
TOOL_KEYS = frozenset({"host", "hostaddr", "port", "dbname", "user", "password", "options", "application_name",
                       "connect_timeout", "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl",
                       "target_session_attrs", "keepalives", "keepalives_idle", "keepalives_interval",
                       "keepalives_count", "service"})
DUMP_FLAGS = ("--schema-only", "--no-owner", "--no-publications", "--no-subscriptions", "--no-security-labels",
              "--no-tablespaces")


class ShadowError(RuntimeError):
    """A scratch database could not be created, built or filled."""


def with_database(conninfo: str, dbname: str) -> str:
    """conninfo pointing at another database of the same server."""
    return make_conninfo(conninfo, dbname=dbname)


def conninfo_of(conn: psycopg.Connection) -> str:
    """A conninfo that reaches conn's database as conn's role (password included when it used one)."""
    parts = {k: v for k, v in conn.info.get_parameters().items() if k in TOOL_KEYS}
    password = conn.info.password
    return make_conninfo("", **parts, **({"password": password} if password else {}))


def _admin(conninfo: str) -> psycopg.Connection:
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT)


def _safe(name: str, what: str) -> str:
    """name, refused unless it is lowercase letters, digits and underscores (it becomes part of a database name)."""
    if not name or not all(ch.isascii() and (ch.isdigit() or ch.islower() or ch == "_") for ch in name):
        raise ValueError(f"{what} {name!r}: only lowercase letters, digits and underscores")
    return name


def require_createdb(conn: psycopg.Connection) -> None:
    """Refuse in one line, naming the role, unless it may create databases."""
    row = conn.execute("SELECT current_user, rolcreatedb OR rolsuper FROM pg_roles "
                       "WHERE rolname = current_user").fetchone()
    if row is None or not row[1]:
        raise ShadowError(_no_createdb(conn))


def _no_createdb(conn: psycopg.Connection) -> str:
    role = scalar(conn.execute("SELECT current_user"))
    return (f"role {role} cannot create scratch databases on {conn.info.host}:{conn.info.port}: grant it CREATEDB "
            f"(ALTER ROLE {role} CREATEDB) or set SHADOW_DATABASE_URL to a server where scratch databases "
            "may be created")


def _create(conn: psycopg.Connection, name: str) -> None:
    try:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.InsufficientPrivilege:
        raise ShadowError(_no_createdb(conn)) from None


def drop(admin_conninfo: str, name: str) -> None:
    """DROP DATABASE IF EXISTS name WITH (FORCE), on a connection of its own (works after an interrupt)."""
    with _admin(admin_conninfo) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def exists(conn: psycopg.Connection, name: str) -> bool:
    """Whether the server has a database of that name."""
    return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def ensure(admin_conninfo: str, key: str, build: Callable[[psycopg.Connection], None]) -> str:
    """The shadow for `key` (a content hash): reused, else built by build(autocommit conn) and renamed once complete."""
    final = PREFIX + _safe(key.lower()[:20], "shadow key")
    with _admin(admin_conninfo) as conn:
        if exists(conn, final):
            return with_database(admin_conninfo, final)
        require_createdb(conn)
    building = f"{final}_building_{secrets.token_hex(4)}"
    try:
        with _admin(admin_conninfo) as conn:
            _create(conn, building)
        with psycopg.connect(with_database(admin_conninfo, building), autocommit=True,
                             connect_timeout=CONNECT_TIMEOUT) as shadow:
            build(shadow)
        with _admin(admin_conninfo) as conn:
            try:
                conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building),
                                                                            sql.Identifier(final)))
            except psycopg.errors.DuplicateDatabase:  # a concurrent ensure() of the same key finished first
                drop(admin_conninfo, building)
    except BaseException:  # also KeyboardInterrupt: never leave a half-built database behind
        _drop_quietly(admin_conninfo, building)
        raise
    return with_database(admin_conninfo, final)


def _drop_quietly(admin_conninfo: str, name: str) -> None:
    """drop() while another error is on its way (that one is what the caller must see)."""
    with contextlib.suppress(psycopg.Error):
        drop(admin_conninfo, name)


@contextmanager
def scratch(admin_conninfo: str, prefix: str) -> Iterator[str]:
    """A new empty database `<prefix>_<random>` for the duration of the block, dropped (WITH (FORCE)) after it."""
    name = f"{_safe(prefix, 'scratch prefix')}_{secrets.token_hex(6)}"
    try:
        with _admin(admin_conninfo) as conn:
            require_createdb(conn)
            _create(conn, name)
        yield with_database(admin_conninfo, name)
    except BaseException:
        _drop_quietly(admin_conninfo, name)
        raise
    drop(admin_conninfo, name)


def _tool(conninfo: str) -> tuple[str, dict[str, str]]:
    """(conninfo without its password, environment with PGPASSWORD) for a client tool's --dbname."""
    parts = {k: v for k, v in conninfo_to_dict(conninfo).items() if k in TOOL_KEYS and k != "password"}
    return make_conninfo("", **parts), runtime_env.libpq_env(conninfo)


def without(dump: bytes, names: set[tuple[str, str, str]]) -> bytes:
    """A plain pg_dump without the entries named (type, schema, name), e.g. ("TRIGGER", "auth", "on_signup ...").

    pg_dump heads every entry with `-- Name: N; Type: T; Schema: S; Owner: O`: an entry runs to the next head.
    """
    if not names:
        return dump
    parts = re.split(rb"(?m)^(?=--\n-- (?:Data for )?Name: )", dump)
    kept = []
    for part in parts:
        head = re.search(rb"^-- (?:Data for )?Name: (.*?); Type: (.*?); Schema: (.*?);", part, re.M)
        if head and (head.group(2).decode(), head.group(3).decode(), head.group(1).decode()) in names:
            continue
        kept.append(part)
    return b"".join(kept)


def _pipe(dump_args: Sequence[str], live_conninfo: str, target_conninfo: str, what: str,
          leave_out: set[tuple[str, str, str]] | None = None) -> None:
    """pg_dump (schema only) of live loaded by psql -v ON_ERROR_STOP=1 into target, in one transaction, without
    the entries `leave_out` names (see `without`)."""
    live_dsn, live_env = _tool(live_conninfo)
    target_dsn, target_env = _tool(target_conninfo)
    with tempfile.TemporaryFile() as dump_err, tempfile.TemporaryFile() as load_err:
        dump = subprocess.run([runtime_env.pg_tool("pg_dump"), *DUMP_FLAGS, *dump_args, "--dbname", live_dsn],
                              env=live_env, stdout=subprocess.PIPE, stderr=dump_err, check=False)
        load = subprocess.run([runtime_env.pg_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                               "--single-transaction", "--dbname", target_dsn], env=target_env,
                              input=without(dump.stdout, leave_out or set()), stdout=subprocess.DEVNULL,
                              stderr=load_err, check=False)
        dump_rc = dump.returncode
        for rc, errors, tool in ((load.returncode, load_err, "psql"), (dump_rc, dump_err, "pg_dump")):
            if rc != 0:
                errors.seek(0)
                lines = [ln for ln in errors.read().decode(errors="replace").splitlines() if ln.strip()]
                first = next((ln for ln in lines if "ERROR" in ln or "error" in ln), lines[0] if lines else "")
                raise ShadowError(f"{what} failed ({tool} exit {rc}): {first.strip()}")


def copy_schema(live_conninfo: str, scratch_conninfo: str, schemas: list[str] | None = None, *,
                exclude_schemas: Sequence[str] = (), exclude_tables: Sequence[str] = ()) -> None:
    """Schema-only copy of live (only READ) into scratch: the named schemas, or all but the excluded ones."""
    args = [f"--schema={_pattern(s)}" for s in schemas or ()]
    args += [f"--exclude-schema={_pattern(s)}" for s in exclude_schemas]
    args += [f"--exclude-table={_pattern(*t.split('.', 1))}" for t in [*exclude_tables,
                                                                      *owned_sequences(live_conninfo, exclude_tables)]]
    _pipe(args, live_conninfo, scratch_conninfo, "copying the live schema")


def owned_sequences(conninfo: str, tables: Sequence[str]) -> list[str]:
    """The sequences ('schema.name') owned by columns of these tables ('schema.table'): serial and identity."""
    if not tables:
        return []
    with psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT) as conn:
        rows = conn.execute(
            "SELECT sn.nspname || '.' || s.relname FROM pg_depend d JOIN pg_class s ON s.oid = d.objid "
            "JOIN pg_namespace sn ON sn.oid = s.relnamespace JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace "
            "tn ON tn.oid = t.relnamespace WHERE d.classid = 'pg_class'::regclass AND d.refclassid = "
            "'pg_class'::regclass AND s.relkind = 'S' AND d.deptype IN ('a', 'i') AND tn.nspname || '.' || "
            "t.relname = ANY(%s)", (list(tables),)).fetchall()
    return [str(r[0]) for r in rows]


def copy_platform(live_conninfo: str, shadow: psycopg.Connection | str, schemas: Sequence[str],
                  leave_out: set[tuple[str, str, str]] | None = None) -> None:
    """Schema-only copy of live's platform schemas (Supabase's auth, storage, ...) and extensions into the shadow."""
    target = shadow if isinstance(shadow, str) else conninfo_of(shadow)
    with psycopg.connect(live_conninfo, connect_timeout=CONNECT_TIMEOUT) as live:
        extensions = [(str(e), str(n), str(v)) for e, n, v in live.execute(
            "SELECT x.extname, n.nspname, x.extversion FROM pg_extension x JOIN pg_namespace n ON "
            "n.oid = x.extnamespace WHERE x.extname <> 'plpgsql' ORDER BY x.oid").fetchall()]
    inside = [e for e, nsp, _ in extensions if nsp in schemas]  # created by the dump, after their schema
    with psycopg.connect(target, autocommit=True, connect_timeout=CONNECT_TIMEOUT) as conn:
        for name, nsp, version in extensions:
            if name not in inside:
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(nsp)))
                conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {} VERSION {}").format(
                    sql.Identifier(name), sql.Identifier(nsp), sql.Literal(version)))
    if schemas:
        args = [f"--schema={_pattern(s)}" for s in schemas] + [f"--extension={_pattern(e)}" for e in inside]
        _pipe(args, live_conninfo, target, "copying the platform schemas", leave_out)


def _pattern(*parts: str) -> str:
    """A pg_dump name pattern matching exactly these names (quoted: no wildcards, case kept)."""
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)
